"""Who is told what: one ledger row (``SystemMail``) per person and occasion, then a task to send it.

Rows are keyed by occasion and person (``dedup_key``), so looking at the same
event twice — a retried task, two sweeps — never mails anyone twice. A person
who turned a kind off gets no row; one without an address gets a row that
failed at once, so the gap is visible instead of silent.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .. import approval_policy, send_window
from ..models import AuditEvent, Campaign, Review, SystemMail
from ..profiles import profile_of
from ..roles import Role
from . import composing
from .kinds import Kind, can_turn_off

User = get_user_model()


@dataclass(frozen=True)
class Notice:
    user: object
    kind: Kind
    context: dict


# --- Who: the people behind a campaign ------------------------------------------------------


def people_with_role(role: Role):
    return User.objects.filter(is_active=True, groups__name=role.value).distinct().order_by("pk")


def _contributor_ids(campaign: Campaign) -> set[int]:
    return set(campaign.contributors.values_list("user_id", flat=True)) | {campaign.drafter_id}


def reviewers_for(campaign: Campaign, *, without_approvers: bool = False):
    """Reviewers who may decide on the campaign: never its drafters (nor, if asked, who approved already)."""
    excluded = _contributor_ids(campaign)
    if without_approvers:
        excluded |= set(approval_policy.approvals_so_far(campaign).values_list("reviewer_id", flat=True))
    return people_with_role(Role.REVIEWER).exclude(pk__in=excluded)


def drafters_of(campaign: Campaign):
    return User.objects.filter(pk__in=_contributor_ids(campaign), is_active=True).order_by("pk")


def approvers_of(campaign: Campaign):
    ids = campaign.reviews.filter(decision=Review.Decision.APPROVED, content_hash=campaign.approved_hash)
    return User.objects.filter(pk__in=ids.values_list("reviewer_id", flat=True), is_active=True).order_by("pk")


# --- What: one planner per audit action -----------------------------------------------------


def absolute_url(view_name: str, *args) -> str:
    return settings.MAILGUARD["BASE_URL"] + reverse(view_name, args=args)


def local_time(value: datetime | str | None) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def campaign_context(campaign: Campaign, event: AuditEvent | None = None) -> dict:
    return {
        "campaign_name": campaign.name,
        "campaign_url": absolute_url("campaign_detail", campaign.pk),
        "review_url": absolute_url("review", campaign.pk),
        "drafter": campaign.drafter.get_username(),
        "actor": event.actor_name if event else "",
        "details": event.details if event else {},
    }


def _to_each(people: Iterable, kind: Kind, context: dict) -> list[Notice]:
    return [Notice(person, kind, context) for person in people]


def _review_waiting(event: AuditEvent) -> list[Notice]:
    campaign = event.campaign
    context = campaign_context(campaign, event) | {
        "recipients": event.details.get("recipients", campaign.recipients.count()),
        "approvals_required": approval_policy.requirement_for(campaign).approvals,
        "expected_start": local_time(send_window.start_after_approval(timezone.now())),
    }
    return _to_each(reviewers_for(campaign), Kind.REVIEW_WAITING, context)


def _second_approval(event: AuditEvent) -> list[Notice]:
    campaign = event.campaign
    context = campaign_context(campaign, event) | {
        "approvals": event.details.get("approvals", 1), "required": event.details.get("required", 2)}
    return _to_each(reviewers_for(campaign, without_approvers=True), Kind.SECOND_APPROVAL, context)


def _approved(event: AuditEvent) -> list[Notice]:
    campaign = event.campaign
    hold_ends = campaign.approved_at + _hold() if campaign.approved_at else None
    context = campaign_context(campaign, event) | {
        "hold_ends": local_time(hold_ends), "send_after": local_time(campaign.send_after),
        "waits_for_window": bool(hold_ends and campaign.send_after and campaign.send_after > hold_ends),
        "comment": event.details.get("comment", ""),
    }
    return _to_each(drafters_of(campaign), Kind.APPROVED, context)


def _hold() -> timedelta:
    return timedelta(seconds=settings.MAILGUARD["HOLD_SECONDS"])


def _rejected(event: AuditEvent) -> list[Notice]:
    context = campaign_context(event.campaign, event) | {"comment": event.details.get("comment", "")}
    return _to_each(drafters_of(event.campaign), Kind.REJECTED, context)


def _review_expired(event: AuditEvent) -> list[Notice]:
    context = campaign_context(event.campaign, event) | {"days": event.details.get("days")}
    return _to_each(drafters_of(event.campaign), Kind.REVIEW_EXPIRED, context)


def _sending_started(event: AuditEvent) -> list[Notice]:
    context = campaign_context(event.campaign, event)
    return _to_each(drafters_of(event.campaign), Kind.SENDING_STARTED, context)


def _sending_finished(event: AuditEvent) -> list[Notice]:
    campaign = event.campaign
    counts = {status: event.details.get(status, 0) for status in ("sent", "failed", "in_doubt", "cancelled")}
    context = campaign_context(campaign, event) | counts
    if counts["in_doubt"]:
        people = {person.pk: person for person in [*drafters_of(campaign), *approvers_of(campaign)]}
        return _to_each(people.values(), Kind.IN_DOUBT, context)
    kind = Kind.PARTLY_FAILED if counts["failed"] else Kind.SENDING_FINISHED
    return _to_each(drafters_of(campaign), kind, context)


def _paused(event: AuditEvent) -> list[Notice]:
    if event.action == "paused" and not event.details.get("automatic"):
        return []  # a person paused it and knows why
    context = campaign_context(event.campaign, event) | {
        "reason": event.details.get("reason") or event.campaign.pause_reason}
    return _to_each(drafters_of(event.campaign), Kind.AUTO_PAUSED, context)


def _send_refused(event: AuditEvent) -> list[Notice]:
    campaign = event.campaign
    people = {person.pk: person for person in [*drafters_of(campaign), *approvers_of(campaign)]}
    return _to_each(people.values(), Kind.SEND_REFUSED, campaign_context(campaign, event))


PLANNERS: dict[str, Callable[[AuditEvent], list[Notice]]] = {
    "submitted": _review_waiting,
    "approval_recorded": _second_approval,
    "approved": _approved,
    "rejected": _rejected,
    "review_expired": _review_expired,
    "sending_started": _sending_started,
    "sending_finished": _sending_finished,
    "paused": _paused,
    "canary_paused": _paused,
    "send_refused_content_changed": _send_refused,
}


def plan_for_event(event_id: int) -> list[SystemMail]:
    event = AuditEvent.objects.select_related("campaign__drafter").filter(pk=event_id).first()
    if event is None or event.campaign is None:
        return []
    return queue(PLANNERS[event.action](event), f"event:{event.pk}", campaign=event.campaign, event=event)


# --- The ledger rows --------------------------------------------------------------------------


def queue(notices: Iterable[Notice], occasion: str, *, campaign: Campaign | None = None,
          event: AuditEvent | None = None) -> list[SystemMail]:
    """One row per notice (none for a kind the person turned off, none twice); each queued row is sent."""
    rows = [row for notice in notices if (row := _ledger_row(notice, occasion, campaign, event)) is not None]
    for row in rows:
        if row.status == SystemMail.Status.QUEUED:
            transaction.on_commit(lambda pk=row.pk: enqueue(pk), robust=True)
    return rows


def _ledger_row(notice: Notice, occasion: str, campaign, event) -> SystemMail | None:
    profile = profile_of(notice.user)
    if notice.kind in profile.muted_notifications and can_turn_off(notice.kind):
        return None
    key = f"{occasion}:{notice.kind}:{notice.user.pk}"
    if SystemMail.objects.filter(dedup_key=key).exists():
        return None
    subject, body = composing.render(notice.kind, notice.context, profile.language)
    status, error = SystemMail.Status.QUEUED, ""
    if not notice.user.email:
        status = SystemMail.Status.FAILED
        with translation.override(profile.language):
            error = _("This account has no email address; an administrator must add one.")
    try:
        with transaction.atomic():
            return SystemMail.objects.create(
                kind=notice.kind, user=notice.user, to_address=notice.user.email, language=profile.language,
                subject=subject, body=body, campaign=campaign, event=event, dedup_key=key, status=status,
                error=error, message_id=make_msgid(domain=settings.MAILGUARD["MESSAGE_ID_DOMAIN"]),
            )
    except IntegrityError:
        return None  # planned at the same moment by another process


def enqueue(mail_id: int) -> None:
    from .tasks import send_system_mail

    send_system_mail.delay(mail_id)
