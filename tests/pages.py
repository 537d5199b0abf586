"""Reviewing through the real pages with Django's test client: what a reviewer's browser requests."""

from django.urls import reverse

from approvals import guards, review_evidence
from approvals.models import Campaign


def open_everything(client, campaign: Campaign, reviewer) -> None:
    """Open the review page, every preview the server still asks for, and every attachment."""
    client.get(reverse("review", args=[campaign.pk]))
    for _pk, _row, email in review_evidence.missing_evidence(campaign, reviewer).recipients:
        client.get(reverse("review", args=[campaign.pk]), {"q": email})
    for attachment in campaign.attachments.all():
        b"".join(client.get(reverse("attachment_download", args=[campaign.pk, attachment.pk])).streaming_content)


def approve_through_pages(client, campaign: Campaign, reviewer, comment: str = ""):
    """Everything a reviewer does before clicking "Approve": open, tick every acknowledgement, post."""
    campaign.refresh_from_db()
    open_everything(client, campaign, reviewer)
    keys = [f["key"] for f in guards.needing_acknowledgement(campaign.findings)]
    return client.post(reverse("approve", args=[campaign.pk]),
                       {"content_hash": campaign.submitted_hash, "comment": comment, "acknowledge": keys},
                       follow=True)
