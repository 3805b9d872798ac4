from django.apps import AppConfig


class ConsensusConfig(AppConfig):
    """The Django side of consensus: snapshots of the math over what deliberation recorded.

    The label stays "consensus" so tables and migration history are unchanged by the move.
    """

    name = "consensus.snapshots"
    label = "consensus"
    verbose_name = "Consensus"

    def ready(self) -> None:
        from consensus.snapshots import selectors
        from deliberation import hooks
        from kernel.taskqueue import job_task_register
        from kernel.worker import periodic_register

        job_task_register("consensus.recompute", "consensus.snapshots.tasks.recompute_conversation")
        # The worker's sweep follows the vote watermark: an import gets its first snapshot.
        periodic_register("consensus.snapshots.scheduling.snapshots_catch_up")
        hooks.priority_source_set(lambda cid: selectors.snapshot_priorities(conversation_id=cid))
        hooks.group_source_set(lambda cid: selectors.participant_groups(conversation_id=cid))
        hooks.votes_changed.connect(_votes_changed, dispatch_uid="consensus.recompute")


def _votes_changed(sender: object, *, conversation_id: int, **kwargs: object) -> None:
    from consensus.snapshots.scheduling import recompute_request

    recompute_request(conversation_id)
