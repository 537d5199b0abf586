"""The campaign state machine, and the moves the system makes on its own.

Below both ``workflow`` (what people do) and ``delivery.engine`` (what workers
do): each state change is one conditional UPDATE against ``TRANSITIONS``, so
two concurrent moves cannot both succeed, and each system move writes its
audit event. Nothing else writes ``Campaign.state``.
"""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import audit
from .content_hash import current_hash
from .delivery import ledger
from .models import Campaign, Delivery

State = Campaign.State

# action -> (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "edit": (frozenset({State.DRAFT, State.REJECTED}), State.DRAFT),
    "submit": (frozenset({State.DRAFT, State.REJECTED}), State.IN_REVIEW),
    "approve": (frozenset({State.IN_REVIEW}), State.APPROVED),
    "reject": (frozenset({State.IN_REVIEW}), State.REJECTED),
    "cancel": (
        frozenset({State.DRAFT, State.IN_REVIEW, State.REJECTED, State.APPROVED, State.SENDING, State.PAUSED}),
        State.CANCELLED,
    ),
    "pause": (frozenset({State.SENDING}), State.PAUSED),
    "resume": (frozenset({State.PAUSED}), State.SENDING),
    "start_sending": (frozenset({State.APPROVED}), State.SENDING),
    # The end state of "finish" depends on the ledger: sent or partly_failed.
    "finish": (frozenset({State.SENDING}), None),
    # A person chose to resend deliveries that were in doubt.
    "reopen": (frozenset({State.PARTLY_FAILED}), State.SENDING),
    # Nobody reviewed it in time: back to the drafter (approvals.notifications.scheduled).
    "expire": (frozenset({State.IN_REVIEW}), State.DRAFT),
}


class WorkflowError(Exception):
    """An action that cannot happen now; the message says why, in the user's language."""


class NotAllowed(WorkflowError, PermissionDenied):
    """The user may not do this at all (role or separation of duties)."""


def state_refusal(action: str, campaign: Campaign) -> str | None:
    sources, _target = TRANSITIONS[action]
    if campaign.state in sources:
        return None
    return _("This is not possible while the campaign is “%(state)s”.") % {
        "state": campaign.get_state_display()
    }


def move(campaign: Campaign, action: str, target: str, **fields) -> None:
    """Change the state only if it is still one the action may start from.

    A conditional UPDATE, so two concurrent clicks cannot both succeed.
    """
    sources, _default = TRANSITIONS[action]
    updated = Campaign.objects.filter(pk=campaign.pk, state__in=sources).update(
        state=target, updated_at=timezone.now(), **fields
    )
    if not updated:
        campaign.refresh_from_db()
        raise WorkflowError(
            _("This is not possible while the campaign is “%(state)s”.")
            % {"state": campaign.get_state_display()}
        )
    campaign.refresh_from_db()


# --- Moves the delivery engine makes as the system actor ----------------------------


def start_sending(campaign: Campaign) -> bool:
    """approved → sending once the content is verified; False if someone else already started."""
    try:
        move(campaign, "start_sending", State.SENDING, sending_started_at=timezone.now())
    except WorkflowError:
        return False
    audit.record("sending_started", campaign=campaign, content_hash=campaign.approved_hash)
    return True


def refuse_changed_content(campaign: Campaign, found: str) -> None:
    """The content no longer matches the approval: stop everything, loudly, and say why on the page."""
    reason = _("Stopped: the content no longer matches the approved version (%(found)s). Nothing more "
               "is sent; a corrected campaign needs its own review.") % {"found": found[:80]}
    with transaction.atomic():
        move(campaign, "cancel", State.CANCELLED, finished_at=timezone.now(), pause_reason=reason)
        ledger.cancel_pending(campaign.pk, _("Content changed after approval."))
        audit.record(
            "send_refused_content_changed", campaign=campaign, content_hash=campaign.approved_hash,
            found=found, approved_hash=campaign.approved_hash,
        )


def content_still_approved(campaign: Campaign) -> bool:
    """Recompute the whole content hash (attachment bytes re-read); on a difference, refuse and stop.

    Before the first message and before sending resumes: whatever happened in between (an
    administrator's edit, a changed file, a row changed behind the application's back) must
    not reach a recipient under an approval that did not cover it.
    """
    found = current_hash(campaign)
    if found == campaign.approved_hash:
        return True
    refuse_changed_content(campaign, found)
    return False


def finish_sending(campaign: Campaign, counts: dict[str, int]) -> None:
    failed = counts.get(Delivery.Status.FAILED, 0) + counts.get(Delivery.Status.IN_DOUBT, 0)
    target = State.PARTLY_FAILED if failed else State.SENT
    try:
        move(campaign, "finish", target, finished_at=timezone.now())
    except WorkflowError:
        return
    audit.record("sending_finished", campaign=campaign, content_hash=campaign.approved_hash, **counts)


def pause_automatically(campaign: Campaign, reason: str) -> None:
    """The engine stops itself (e.g. after consecutive failures) and says why."""
    try:
        move(campaign, "pause", State.PAUSED, pause_reason=reason)
    except WorkflowError:
        return
    audit.record("paused", campaign=campaign, reason=reason, automatic=True)


def end_canary_stage(campaign: Campaign) -> None:
    """The first recipients are out: pause until a person has checked them and resumes."""
    size = campaign.canary_size
    reason = _("Staged send: the first %(count)d recipients were sent. Check them, then resume.") % {
        "count": size}
    try:
        move(campaign, "pause", State.PAUSED, pause_reason=reason, canary_size=None)
    except WorkflowError:
        return
    audit.record("canary_paused", campaign=campaign, sent=size)


def expire_review(campaign: Campaign, days: int) -> bool:
    """in_review → draft after ``days`` without a decision; False if someone decided meanwhile."""
    with transaction.atomic():
        try:
            move(campaign, "expire", State.DRAFT)
        except WorkflowError:
            return False
        audit.record("review_expired", campaign=campaign, content_hash=campaign.submitted_hash, days=days)
    return True
