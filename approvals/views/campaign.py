"""Pages every role shares: a campaign's status page, its progress, its attachments."""

from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render

from .. import review_evidence, selectors, workflow
from ..forms import CancelForm
from ..models import Campaign, ReviewActivity
from ..roles import Role, has_role
from .common import private_file_response, role_required

ANY_ROLE = (Role.DRAFTER, Role.REVIEWER, Role.AUDITOR)


@role_required(*ANY_ROLE)
def campaign_detail(request, pk: int):
    campaign = selectors.campaign_for(request.user, pk)
    user = request.user
    return render(request, "approvals/campaign_detail.html", {
        "campaign": campaign,
        "counts": selectors.delivery_counts(campaign),
        "recipient_count": campaign.recipients.count(),
        "attachments": campaign.attachments.all(),
        "reviews": campaign.reviews.select_related("reviewer"),
        "events": campaign.events.select_related("actor"),
        "can_edit": workflow.can("edit", campaign, user),
        "can_submit": workflow.can("submit", campaign, user),
        "can_review": workflow.can("approve", campaign, user),
        "can_cancel": workflow.can("cancel", campaign, user),
        "cancel_form": CancelForm(),
    })


@role_required(*ANY_ROLE)
def campaign_progress(request, pk: int):
    """Live progress for the status page (polled by static/js/progress.js)."""
    campaign = selectors.campaign_for(request.user, pk)
    counts = selectors.delivery_counts(campaign)
    return JsonResponse({"state": campaign.state, "state_label": str(campaign.get_state_display()),
                         "counts": counts, "total": sum(counts.values())})


@role_required(*ANY_ROLE)
def attachment_download(request, pk: int, attachment_pk: int):
    campaign = selectors.campaign_for(request.user, pk)
    attachment = get_object_or_404(campaign.attachments, pk=attachment_pk)
    if campaign.state == Campaign.State.IN_REVIEW and has_role(request.user, Role.REVIEWER):
        review_evidence.record_opened(campaign, request.user, ReviewActivity.Kind.ATTACHMENT, attachment.pk)
    return private_file_response(attachment.file, attachment.filename, attachment.content_type)
