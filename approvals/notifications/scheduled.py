"""What beat runs: reviewer reminders, review requests that expire, re-queued system mail, the digest."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, OuterRef, Q, Subquery
from django.utils import timezone

from .. import transitions
from ..models import AuditEvent, Campaign, Delivery, SystemMail
from ..roles import Role
from .kinds import Kind
from .planning import (
    Notice,
    absolute_url,
    campaign_context,
    enqueue,
    local_time,
    people_with_role,
    queue,
    reviewers_for,
)

# A queued row older than this without a task in sight (the broker lost it) is queued again;
# a row claimed longer ago than STALE_CLAIM by a worker that never answered is retried.
LOST_TASK_AFTER = timedelta(minutes=1)
STALE_CLAIM = timedelta(minutes=10)
DIGEST_PERIOD = timedelta(hours=24)


def _in_review_since(cutoff: datetime):
    """Campaigns in review whose latest submission is older than ``cutoff``, with that submission."""
    latest = AuditEvent.objects.filter(campaign=OuterRef("pk"), action="submitted").order_by("-id")
    return (Campaign.objects.filter(state=Campaign.State.IN_REVIEW).select_related("drafter")
            .annotate(submission_id=Subquery(latest.values("pk")[:1]),
                      submitted_at=Subquery(latest.values("created_at")[:1]))
            .filter(submitted_at__lte=cutoff))


def send_review_reminders(now: datetime | None = None) -> list[SystemMail]:
    """One reminder per submission to each reviewer who has not approved it yet."""
    hours = settings.MAILGUARD["REVIEW_REMINDER_HOURS"]
    if hours <= 0:
        return []
    now = now or timezone.now()
    days = settings.MAILGUARD["REVIEW_EXPIRY_DAYS"]
    sent = []
    for campaign in _in_review_since(now - timedelta(hours=hours)):
        context = campaign_context(campaign) | {
            "submitted_at": local_time(campaign.submitted_at),
            "expires_at": local_time(campaign.submitted_at + timedelta(days=days)) if days > 0 else "",
        }
        notices = [Notice(person, Kind.REVIEW_REMINDER, context)
                   for person in reviewers_for(campaign, without_approvers=True)]
        sent += queue(notices, f"reminder:{campaign.submission_id}", campaign=campaign)
    return sent


def expire_review_requests(now: datetime | None = None) -> list[int]:
    """Requests nobody decided on within REVIEW_EXPIRY_DAYS go back to draft (audited; the drafter is told)."""
    days = settings.MAILGUARD["REVIEW_EXPIRY_DAYS"]
    if days <= 0:
        return []
    now = now or timezone.now()
    return [campaign.pk for campaign in _in_review_since(now - timedelta(days=days))
            if transitions.expire_review(campaign, days)]


def requeue_waiting_mail(now: datetime | None = None) -> int:
    """System mail whose task was lost, or whose worker died mid-send, is queued again."""
    now = now or timezone.now()
    Status = SystemMail.Status
    SystemMail.objects.filter(status=Status.SENDING, claimed_at__lt=now - STALE_CLAIM).update(status=Status.QUEUED)
    due = SystemMail.objects.filter(status=Status.QUEUED, created_at__lt=now - LOST_TASK_AFTER).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    ids = list(due.values_list("pk", flat=True)[:1000])
    for mail_id in ids:
        enqueue(mail_id)
    return len(ids)


# --- The auditors' daily digest -----------------------------------------------------------------


def _per_campaign(deliveries) -> list[dict]:
    rows = deliveries.values("campaign_id", "campaign__name").annotate(count=Count("id")).order_by("campaign_id")
    return [{"name": row["campaign__name"], "count": row["count"],
             "url": absolute_url("audit_campaign", row["campaign_id"])} for row in rows]


def digest_context(now: datetime) -> dict | None:
    """What was sent and what failed in the last 24 hours, and what is in doubt now; None if nothing."""
    start = now - DIGEST_PERIOD
    Status = Delivery.Status
    sent = _per_campaign(Delivery.objects.filter(status=Status.SENT, sent_at__gte=start, sent_at__lt=now))
    failed = _per_campaign(Delivery.objects.filter(status=Status.FAILED, updated_at__gte=start, updated_at__lt=now))
    in_doubt = _per_campaign(Delivery.objects.filter(status=Status.IN_DOUBT))
    mail_failed = SystemMail.objects.filter(status=SystemMail.Status.FAILED, created_at__gte=start,
                                            created_at__lt=now).count()
    if not (sent or failed or in_doubt or mail_failed):
        return None
    return {
        "day": timezone.localdate(now).isoformat(), "period_start": local_time(start), "period_end": local_time(now),
        "sent": sent, "failed": failed, "in_doubt": in_doubt,
        "system_mail_failed": mail_failed, "system_mail_url": absolute_url("audit_system_mail"),
    }


def send_daily_digest(now: datetime | None = None) -> list[SystemMail]:
    now = now or timezone.now()
    context = digest_context(now)
    if context is None:
        return []  # an empty digest every day would teach people to ignore it
    notices = [Notice(person, Kind.DAILY_DIGEST, context) for person in people_with_role(Role.AUDITOR)]
    return queue(notices, f"digest:{context['day']}")
