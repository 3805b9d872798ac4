"""Page URLs (the API lives under /api/v1/; these are the people-facing pages)."""

from django.urls import path

from frontend import views

urlpatterns = [
    path("", views.home, name="home"),
    path("new/", views.conversation_new, name="conversation-new"),
    path("c/<slug:slug>/", views.participate, name="participate"),
    path("c/<slug:slug>/moderate/", views.moderate, name="moderate"),
    path("c/<slug:slug>/report/", views.report, name="report"),
    path("c/<slug:slug>/constitution/", views.constitution, name="constitution"),
    path(
        "c/<slug:slug>/constitution/<int:constitution_id>.json",
        views.constitution_export_json,
        name="constitution-export-json",
    ),
    path("c/<slug:slug>/training/", views.training, name="training"),
    path("c/<slug:slug>/export/polis.zip", views.export_polis, name="export-polis"),
    path("c/<slug:slug>/export/snapshot.json", views.export_snapshot, name="export-snapshot"),
]
