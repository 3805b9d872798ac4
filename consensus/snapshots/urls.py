from django.urls import path

from consensus.snapshots import apis

urlpatterns = [
    path(
        "conversations/<slug:slug>/consensus/",
        apis.SnapshotLatestApi.as_view(),
        name="consensus-latest",
    ),
    path(
        "conversations/<slug:slug>/consensus/recompute/",
        apis.RecomputeApi.as_view(),
        name="consensus-recompute",
    ),
]
