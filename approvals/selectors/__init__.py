"""Read-side queries: which campaigns a user may see, and what the pages every role shares show.

Views call these and render; they build no query of their own. The queries for one
role's pages live next door (``auditor``, ``reviewer``, ``drafter``). Counts come from
the counters the ledger keeps (``DeliveryCounts``), never from counting the ledger,
so a page costs the same with a hundred deliveries or a million.
"""

import unicodedata
from datetime import timedelta

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from .. import timeline as timeline_labels
from ..delivery import ledger
from ..downloads import expiry_of
from ..models import AuditEvent, Campaign, Delivery, Download, Recipient, email_domain
from ..roles import Role, has_role

State = Campaign.State
# In-doubt deliveries listed on the status page for a person to decide on at once.
IN_DOUBT_SHOWN = 500


def campaigns_visible_to(user) -> QuerySet[Campaign]:
    """Auditors and admins see everything; reviewers everything submitted; drafters their own."""
    campaigns = Campaign.objects.select_related("drafter", "sender", "approved_by")
    if user.is_superuser or has_role(user, Role.AUDITOR):
        return campaigns
    visible = Q(contributors__user=user)
    if has_role(user, Role.REVIEWER):
        visible |= ~Q(state=State.DRAFT)
    if not (has_role(user, Role.DRAFTER) or has_role(user, Role.REVIEWER)):
        return campaigns.none()
    return campaigns.filter(visible).distinct()


def campaign_for(user, pk: int) -> Campaign:
    """The campaign, or 404 when this user may not know it exists."""
    return get_object_or_404(campaigns_visible_to(user), pk=pk)


def review_queue(user) -> QuerySet[Campaign]:
    return (
        Campaign.objects.filter(state=State.IN_REVIEW)
        .exclude(contributors__user=user)
        .select_related("drafter", "sender")
        .annotate(recipient_count=Count("recipients"))
        .order_by("updated_at")
    )


def recipient_count(campaign: Campaign) -> int:
    return campaign.recipients.count()


def domain_breakdown(campaign: Campaign, top: int = 10) -> list[tuple[str, int]]:
    """The most common recipient domains, counted by the database over its (campaign, domain) index."""
    rows = (
        Recipient.objects.filter(campaign=campaign).order_by()
        .annotate(domain=email_domain()).values("domain").annotate(n=Count("id"))
        .order_by("-n", "domain")[:top]
    )
    return [(row["domain"], row["n"]) for row in rows]


def delivery_counts(campaign: Campaign) -> dict[str, int]:
    """How many deliveries are in each status, from the counters the ledger keeps."""
    return ledger.kept_counts([campaign.pk])[campaign.pk]


def recent_send_rate(campaign: Campaign, window_seconds: int = 60) -> float:
    """Messages per second accepted over the last minute (0 when nothing was sent lately)."""
    since = timezone.now() - timedelta(seconds=window_seconds)
    recent = campaign.deliveries.filter(status=Delivery.Status.SENT, sent_at__gte=since)
    first = recent.order_by("sent_at").values_list("sent_at", flat=True).first()
    if first is None:
        return 0.0
    elapsed = max(1.0, (timezone.now() - first).total_seconds())
    return recent.count() / elapsed


# --- The campaign's status page -------------------------------------------------------------


def timeline(campaign: Campaign) -> list[timeline_labels.Entry]:
    """Every audit event of the campaign, oldest first, with its label and the reason given."""
    events = AuditEvent.objects.filter(campaign=campaign).order_by("id")
    return [timeline_labels.entry(event) for event in events]


def attachments(campaign: Campaign):
    return campaign.attachments.all()


def reviews(campaign: Campaign):
    return campaign.reviews.select_related("reviewer")


def latest_review(campaign: Campaign):
    return campaign.reviews.select_related("reviewer").first()


def in_doubt(campaign: Campaign):
    """Deliveries a person must decide on (the first ones; the rest after those are settled)."""
    return campaign.deliveries.filter(status=Delivery.Status.IN_DOUBT).order_by("id")[:IN_DOUBT_SHOWN]


def stop_reason(campaign: Campaign) -> timeline_labels.Entry | None:
    """Who cancelled the campaign and why (the latest cancel or refusal); None when it was not stopped."""
    if campaign.state != State.CANCELLED:
        return None
    event = (AuditEvent.objects.filter(campaign=campaign, action__in=timeline_labels.STOPPING_ACTIONS)
             .order_by("-id").first())
    return timeline_labels.entry(event) if event else None


# --- One row, one file ------------------------------------------------------------------------


def row_number_in(text: str) -> int | None:
    """A list row number typed as digits (half- or full-width, "#12" too); None for anything else."""
    value = unicodedata.normalize("NFKC", text or "").strip().lstrip("#").strip()
    return int(value) if value.isascii() and value.isdigit() else None


def recipient_at_row(campaign: Campaign, row: str) -> Recipient | None:
    number = row_number_in(row)
    if number is None:
        return None
    return campaign.recipients.filter(row_number=number).first()


def recipient_of(campaign: Campaign, pk: int) -> Recipient:
    return get_object_or_404(campaign.recipients, pk=pk)


def attachment_of(campaign: Campaign, pk: int):
    return get_object_or_404(campaign.attachments, pk=pk)


def download_summary(campaign: Campaign) -> dict | None:
    """For campaign pages: until when the links work, whether they were stopped, who downloaded."""
    if campaign.attachment_delivery != Campaign.AttachmentDelivery.LINKS:
        return None
    tries = Download.objects.filter(delivery__campaign=campaign)
    downloaded = tries.filter(outcome=Download.Outcome.DOWNLOADED)
    return {
        "expires_at": expiry_of(campaign),
        "stopped_at": campaign.downloads_stopped_at,
        "downloads": downloaded.count(),
        "recipients": downloaded.values("delivery").distinct().count(),
        "wrong_addresses": tries.filter(outcome=Download.Outcome.WRONG_ADDRESS).count(),
    }


def download_ledger(campaign: Campaign) -> QuerySet[Download]:
    """Every use of the campaign's download links, newest first: who, which file, when, what happened."""
    return (Download.objects.filter(delivery__campaign=campaign)
            .select_related("delivery", "delivery__recipient", "attachment").order_by("-created_at", "-id"))
