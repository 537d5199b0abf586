"""The kinds of notification, who receives each, and which ones nobody can turn off."""

from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from ..roles import Role


class Kind(StrEnum):
    REVIEW_WAITING = "review_waiting"
    REVIEW_REMINDER = "review_reminder"
    SECOND_APPROVAL = "second_approval"
    REVIEW_EXPIRED = "review_expired"
    APPROVED = "approved"
    REJECTED = "rejected"
    SENDING_STARTED = "sending_started"
    SENDING_FINISHED = "sending_finished"
    PARTLY_FAILED = "partly_failed"
    AUTO_PAUSED = "auto_paused"
    IN_DOUBT = "in_doubt"
    SEND_REFUSED = "send_refused"
    DAILY_DIGEST = "daily_digest"


LABELS = {
    Kind.REVIEW_WAITING: _("A campaign waits for your review"),
    Kind.REVIEW_REMINDER: _("Reminder: a campaign still waits for review"),
    Kind.SECOND_APPROVAL: _("A campaign needs a second approval"),
    Kind.REVIEW_EXPIRED: _("Your review request expired and is back in draft"),
    Kind.APPROVED: _("Your campaign was approved"),
    Kind.REJECTED: _("Your campaign was rejected, with the reviewer's words"),
    Kind.SENDING_STARTED: _("Sending started"),
    Kind.SENDING_FINISHED: _("Sending finished"),
    Kind.PARTLY_FAILED: _("Sending finished, but some messages failed"),
    Kind.AUTO_PAUSED: _("Sending paused itself"),
    Kind.IN_DOUBT: _("Messages in doubt need your decision"),
    Kind.SEND_REFUSED: _("Sending was refused: the content changed after approval"),
    Kind.DAILY_DIGEST: _("Daily digest of what was sent, what failed and what is in doubt"),
}

# Something went wrong or someone must act: these are always sent.
MANDATORY = frozenset({Kind.REVIEW_EXPIRED, Kind.REJECTED, Kind.PARTLY_FAILED, Kind.AUTO_PAUSED,
                       Kind.IN_DOUBT, Kind.SEND_REFUSED})

# Which notifications a person can receive, by role (for the settings page).
BY_ROLE = {
    Role.REVIEWER: (Kind.REVIEW_WAITING, Kind.REVIEW_REMINDER, Kind.SECOND_APPROVAL, Kind.IN_DOUBT,
                    Kind.SEND_REFUSED),
    Role.DRAFTER: (Kind.REVIEW_EXPIRED, Kind.APPROVED, Kind.REJECTED, Kind.SENDING_STARTED,
                   Kind.SENDING_FINISHED, Kind.PARTLY_FAILED, Kind.AUTO_PAUSED, Kind.IN_DOUBT, Kind.SEND_REFUSED),
    Role.AUDITOR: (Kind.DAILY_DIGEST,),
}


def kinds_for_roles(roles) -> list[Kind]:
    seen: dict[Kind, None] = {}
    for role in roles:
        for kind in BY_ROLE.get(role, ()):
            seen.setdefault(kind)
    return list(seen)


def can_turn_off(kind: str) -> bool:
    return kind not in MANDATORY
