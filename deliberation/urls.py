from django.urls import path

from deliberation import apis, vote_batching

urlpatterns = [
    path("conversations/", apis.ConversationListApi.as_view(), name="conversation-list"),
    path(
        "conversations/<slug:slug>/",
        apis.ConversationDetailApi.as_view(),
        name="conversation-detail",
    ),
    path(
        "conversations/<slug:slug>/stats/",
        apis.ConversationStatsApi.as_view(),
        name="conversation-stats",
    ),
    path(
        "conversations/<slug:slug>/statements/",
        apis.StatementListApi.as_view(),
        name="statement-list",
    ),
    path(
        "conversations/<slug:slug>/statements/moderate/",
        apis.StatementsModerateApi.as_view(),
        name="statements-moderate",
    ),
    path(
        "conversations/<slug:slug>/statements/seed/",
        apis.StatementsSeedApi.as_view(),
        name="statements-seed",
    ),
    path(
        "conversations/<slug:slug>/statements/<int:statement_id>/moderate/",
        apis.StatementModerateApi.as_view(),
        name="statement-moderate",
    ),
    path(
        "conversations/<slug:slug>/participants/", apis.JoinApi.as_view(), name="participant-join"
    ),
    path(
        "conversations/<slug:slug>/participants/<int:participant_id>/revoke/",
        apis.ParticipantRevokeApi.as_view(),
        name="participant-revoke",
    ),
    path("conversations/<slug:slug>/me/", apis.MeApi.as_view(), name="participant-me"),
    path("conversations/<slug:slug>/me/votes/", apis.MyVotesApi.as_view(), name="my-votes"),
    path(
        "conversations/<slug:slug>/me/votes/<int:statement_id>/",
        apis.MyVoteWithdrawApi.as_view(),
        name="my-vote-withdraw",
    ),
    path(
        "conversations/<slug:slug>/me/signout/",
        apis.SignOutApi.as_view(),
        name="participant-signout",
    ),
    path(
        "conversations/<slug:slug>/me/demographics/",
        apis.DemographicsApi.as_view(),
        name="participant-demographics",
    ),
    path("conversations/<slug:slug>/next/", vote_batching.next_endpoint, name="statement-next"),
    path("conversations/<slug:slug>/votes/", vote_batching.votes_endpoint, name="vote-list"),
    path("conversations/<slug:slug>/audit/", apis.AuditLogApi.as_view(), name="audit-log"),
    path("jobs/", apis.JobListApi.as_view(), name="job-list"),
    path("jobs/<int:job_id>/", apis.JobDetailApi.as_view(), name="job-detail"),
]
