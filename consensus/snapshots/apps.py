from django.apps import AppConfig


class ConsensusConfig(AppConfig):
    """The Django side of consensus: snapshots of the math over what deliberation recorded.

    The label stays "consensus" so tables and migration history are unchanged by the move.
    """

    name = "consensus.snapshots"
    label = "consensus"
    verbose_name = "Consensus"

    def ready(self) -> None:
        from kernel.taskqueue import job_task_register

        job_task_register("consensus.recompute", "consensus.snapshots.tasks.recompute_conversation")
