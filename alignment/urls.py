from django.urls import path

from alignment import apis

urlpatterns = [
    path(
        "conversations/<slug:slug>/constitutions/",
        apis.ConstitutionListApi.as_view(),
        name="constitution-list",
    ),
    path(
        "constitutions/<int:constitution_id>/",
        apis.ConstitutionDetailApi.as_view(),
        name="constitution-detail",
    ),
    path(
        "constitutions/<int:constitution_id>/publish/",
        apis.ConstitutionPublishApi.as_view(),
        name="constitution-publish",
    ),
    path(
        "constitutions/<int:constitution_id>/diff/<int:other_id>/",
        apis.ConstitutionDiffApi.as_view(),
        name="constitution-diff",
    ),
    path(
        "conversations/<slug:slug>/training-runs/",
        apis.TrainingRunListApi.as_view(),
        name="training-run-list",
    ),
    path(
        "training-runs/<int:run_id>/",
        apis.TrainingRunDetailApi.as_view(),
        name="training-run-detail",
    ),
    path(
        "training-runs/<int:run_id>/resume/",
        apis.TrainingRunResumeApi.as_view(),
        name="training-run-resume",
    ),
    path(
        "constitutions/<int:constitution_id>/prompts/",
        apis.ConstitutionPromptSetApi.as_view(),
        name="constitution-prompts",
    ),
    path(
        "training-runs/<int:run_id>/export/",
        apis.TrainingRunExportApi.as_view(),
        name="training-run-export",
    ),
]
