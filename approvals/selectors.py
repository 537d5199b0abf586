"""Read-side queries: which campaigns a user may see, and summaries for pages."""

from collections import Counter
from datetime import timedelta

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from .delivery import ledger
from .downloads import expiry_of
from .models import Campaign, Delivery, Download
from .roles import Role, has_role

State = Campaign.State


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


def domain_breakdown(campaign: Campaign, top: int = 10) -> list[tuple[str, int]]:
    domains = Counter(
        email.rsplit("@", 1)[-1].lower() for email in campaign.recipients.values_list("email", flat=True)
    )
    return domains.most_common(top)


def delivery_counts(campaign: Campaign) -> dict[str, int]:
    return ledger.counts(campaign.pk)


def recent_send_rate(campaign: Campaign, window_seconds: int = 60) -> float:
    """Messages per second accepted over the last minute (0 when nothing was sent lately)."""
    since = timezone.now() - timedelta(seconds=window_seconds)
    recent = campaign.deliveries.filter(status=Delivery.Status.SENT, sent_at__gte=since)
    first = recent.order_by("sent_at").values_list("sent_at", flat=True).first()
    if first is None:
        return 0.0
    elapsed = max(1.0, (timezone.now() - first).total_seconds())
    return recent.count() / elapsed


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
