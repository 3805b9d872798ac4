"""Who may do what. One place, so the README's role table and the code cannot drift apart.

Roles: admin (superuser), moderator (per conversation: listed in Conversation.moderators; members
of the global "moderators" group may create conversations), researcher (global "researchers"
group: read everything, export), participant (a Participant row of one conversation).
"""

from __future__ import annotations

from typing import Any, Protocol


class Moderated(Protocol):
    """What a role check needs of a conversation: its moderators (a related manager).

    A protocol, not deliberation's model, so the kernel imports no app.
    """

    @property
    def moderators(self) -> Any: ...


RESEARCHERS_GROUP = "researchers"
MODERATORS_GROUP = "moderators"


def _authenticated(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def is_admin(user: Any) -> bool:
    return _authenticated(user) and bool(user.is_superuser)


def _in_group(user: Any, name: str) -> bool:
    if not _authenticated(user):
        return False
    cache = getattr(user, "_concord_groups", None)
    if cache is None:
        cache = set(user.groups.values_list("name", flat=True))
        user._concord_groups = cache
    return name in cache


def is_researcher(user: Any) -> bool:
    return is_admin(user) or _in_group(user, RESEARCHERS_GROUP)


def can_create_conversation(user: Any) -> bool:
    return is_admin(user) or _in_group(user, MODERATORS_GROUP)


def is_moderator(user: Any, conversation: Moderated) -> bool:
    if is_admin(user):
        return True
    if not _authenticated(user):
        return False
    return conversation.moderators.filter(pk=user.pk).exists()


def moderated_ids(user: Any) -> set[int]:
    """Ids of the conversations `user` moderates (one query, for lists of conversations)."""
    if not _authenticated(user):
        return set()
    return set(user.moderated_conversations.values_list("pk", flat=True))


def can_read_all(user: Any, conversation: Moderated) -> bool:
    """Pending/rejected statements, individual votes, jobs: moderators and researchers."""
    return is_researcher(user) or is_moderator(user, conversation)
