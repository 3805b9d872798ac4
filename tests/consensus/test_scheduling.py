"""recompute_request: a burst of votes asks for one debounced recompute, never a pile of them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from consensus.snapshots import scheduling
from deliberation import services
from kernel.models import Job
from tests.factories import ParticipantFactory, StatementFactory

pytestmark = pytest.mark.django_db

TASK_PATH = "consensus.snapshots.tasks.recompute_conversation"


@pytest.fixture
def clock(monkeypatch):  # type: ignore[no-untyped-def]
    """A monotonic clock the test moves by hand."""
    now = [1000.0]
    monkeypatch.setattr(scheduling.time, "monotonic", lambda: now[0])
    return now


@pytest.fixture
def request_now(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    def run(conversation_id):  # type: ignore[no-untyped-def]
        with django_capture_on_commit_callbacks(execute=True):
            return scheduling.recompute_request(conversation_id)

    return run


def recompute_jobs(conversation):  # type: ignore[no-untyped-def]
    return Job.objects.filter(conversation=conversation, kind=scheduling.RECOMPUTE_KIND)


def test_a_burst_of_votes_queues_one_delayed_recompute(
    conversation, django_capture_on_commit_callbacks
):
    statements = [StatementFactory(conversation=conversation) for _ in range(5)]
    voters = [ParticipantFactory(conversation=conversation) for _ in range(4)]
    with django_capture_on_commit_callbacks(execute=True):
        for voter in voters:
            for statement in statements:
                services.vote_cast(participant=voter, statement_id=statement.pk, value=1)
    job = recompute_jobs(conversation).get()
    assert job.status == Job.Status.QUEUED
    task = DBTaskResult.objects.get(task_path=TASK_PATH)
    assert str(task.id) == job.task_id and task.args_kwargs["args"] == [job.pk]
    assert task.run_after > timezone.now() + timedelta(seconds=1)


def test_a_request_inside_the_window_is_absorbed(conversation, clock, request_now):
    assert request_now(conversation.pk) is not None
    clock[0] += 1.0
    assert request_now(conversation.pk) is None
    assert recompute_jobs(conversation).count() == 1


def test_a_queued_job_absorbs_requests_from_other_processes(conversation, clock, request_now):
    request_now(conversation.pk)
    scheduling._recently_queued.clear()  # another server process has no memo
    assert request_now(conversation.pk) is None
    assert recompute_jobs(conversation).count() == 1


def test_after_the_window_a_queued_job_still_absorbs(conversation, clock, request_now):
    request_now(conversation.pk)
    clock[0] += 60
    assert request_now(conversation.pk) is None
    assert recompute_jobs(conversation).count() == 1


def test_a_running_job_does_not_absorb_new_votes(conversation, clock, request_now):
    first = request_now(conversation.pk)
    Job.objects.filter(pk=first.pk).update(status=Job.Status.RUNNING)
    clock[0] += 60
    second = request_now(conversation.pk)
    assert second is not None and second.pk != first.pk
    assert recompute_jobs(conversation).filter(status=Job.Status.QUEUED).get() == second


def test_each_conversation_has_its_own_window(conversation, clock, request_now):
    other = StatementFactory().conversation
    assert request_now(conversation.pk) is not None
    assert request_now(other.pk) is not None


def test_automatic_recompute_can_be_switched_off(conversation, settings, request_now):
    settings.CONCORD_AUTO_RECOMPUTE = False
    assert request_now(conversation.pk) is None
    assert not recompute_jobs(conversation).exists()


def test_a_recompute_asked_for_by_hand_runs_at_once(
    conversation, moderator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = scheduling.recompute_enqueue(conversation_id=conversation.pk, user=moderator)
    job.refresh_from_db()
    assert job.created_by == moderator and job.task_id
    assert DBTaskResult.objects.ready().filter(pk=job.task_id).exists()


def test_nothing_is_queued_when_the_vote_rolls_back(
    conversation, participant, django_capture_on_commit_callbacks
):
    from django.db import transaction

    statement = StatementFactory(conversation=conversation)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            services.vote_cast(participant=participant, statement_id=statement.pk, value=1)
            raise RuntimeError("rolled back")
    assert not recompute_jobs(conversation).exists()


@pytest.mark.django_db(transaction=True)
def test_processes_asking_at_the_same_moment_queue_one_job(conversation, monkeypatch):
    """Server processes share no memo: their check-then-queue must still leave one job waiting."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier, BrokenBarrierError

    from django.db import connection

    monkeypatch.setattr(scheduling, "_recently_queued", _NoMemo())
    everyone_checked = Barrier(6, timeout=1)
    exists = scheduling._queued_job_exists

    def check_then_wait(conversation_id):  # type: ignore[no-untyped-def]
        answer = exists(conversation_id)
        try:  # hold every requester between its check and its insert, if the code lets us
            everyone_checked.wait()
        except BrokenBarrierError:
            pass
        return answer

    monkeypatch.setattr(scheduling, "_queued_job_exists", check_then_wait)

    def process(_):  # type: ignore[no-untyped-def]
        try:
            return scheduling.recompute_request(conversation.pk)
        finally:
            connection.close()

    with ThreadPoolExecutor(6) as pool:
        queued = [job for job in pool.map(process, range(6)) if job is not None]
    assert len(queued) == 1
    assert recompute_jobs(conversation).count() == 1


class _NoMemo(dict):  # type: ignore[type-arg]
    """The memo of a process that has never queued anything."""

    def get(self, key, default=None):  # type: ignore[no-untyped-def]
        return default


def test_an_import_schedules_its_first_snapshot(django_capture_on_commit_callbacks):
    """Issue 10: after `import_polis` there was no snapshot until someone clicked recompute."""
    from pathlib import Path

    from deliberation.polis_io import polis_import

    folder = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "polis"
    with django_capture_on_commit_callbacks(execute=True):
        polis_import(folder=folder / "15-per-hour-seattle", slug="seattle")
    job = Job.objects.get(conversation__slug="seattle", kind=scheduling.RECOMPUTE_KIND)
    assert job.status == Job.Status.QUEUED and job.task_id
