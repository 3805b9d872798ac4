"""How the layers above deliberation learn of and feed into it, without deliberation importing them.

Deliberation sits at the bottom of the domain: it records conversations, statements and votes and
knows nothing of consensus or alignment. Two things still cross the line, each in one direction:

- `votes_changed` (a Django signal, sent after the commit): the consensus side connects to it
  and schedules a recompute. Deliberation says what happened, not what to do about it.
- Providers: consensus registers, at start-up, the functions that answer "how should statements
  be routed?" (snapshot priorities) and "which group is each participant in?" (for exports).
  With none registered, deliberation routes without priorities and exports without groups.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.dispatch import Signal

# Sent with `conversation_id` once the transaction that changed its votes has committed.
votes_changed = Signal()

PrioritySource = Callable[[int], Mapping[int, float]]
GroupSource = Callable[[int], Mapping[int, int | None]]

_priority_source: PrioritySource | None = None
_group_source: GroupSource | None = None


def priority_source_set(source: PrioritySource | None) -> None:
    global _priority_source
    _priority_source = source


def group_source_set(source: GroupSource | None) -> None:
    global _group_source
    _group_source = source


def statement_priorities(conversation_id: int) -> Mapping[int, float]:
    """Routing weight per statement id; empty when nothing has scored the conversation yet."""
    return {} if _priority_source is None else _priority_source(conversation_id)


def participant_groups(conversation_id: int) -> Mapping[int, int | None]:
    """Opinion group per participant id; empty when no consensus layer is installed."""
    return {} if _group_source is None else _group_source(conversation_id)
