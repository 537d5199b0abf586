"""Pages every role shares: a campaign's status page, its progress, its attachments."""

from datetime import timedelta

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import approval_policy, review_evidence, selectors, send_window, workflow
from ..forms import CancelForm
from ..middleware import passive
from ..models import Campaign, ReviewActivity
from ..roles import Role, has_role
from .common import back_to, perform, private_file_response, role_required

ANY_ROLE = (Role.DRAFTER, Role.REVIEWER, Role.AUDITOR)


@role_required(*ANY_ROLE)
def campaign_detail(request, pk: int):
    campaign = selectors.campaign_for(request.user, pk)
    user = request.user
    return render(request, "approvals/campaign_detail.html", {
        "campaign": campaign,
        "counts": selectors.delivery_counts(campaign),
        "recipient_count": selectors.recipient_count(campaign),
        "attachments": selectors.attachments(campaign),
        "reviews": selectors.reviews(campaign),
        "events": selectors.timeline(campaign),
        "stopped": selectors.stop_reason(campaign),
        "rejection": selectors.latest_review(campaign) if campaign.state == Campaign.State.REJECTED else None,
        "can_edit": workflow.can("edit", campaign, user),
        "can_submit": workflow.can("submit", campaign, user),
        "can_review": workflow.can("approve", campaign, user),
        "can_cancel": workflow.can("cancel", campaign, user),
        "can_pause": workflow.can("pause", campaign, user),
        "can_resume": workflow.can("resume", campaign, user),
        "can_copy": has_role(user, Role.DRAFTER),
        "in_doubt": selectors.in_doubt(campaign),
        "can_resolve": workflow.can_resolve_in_doubt(user),
        "cancel_form": CancelForm(),
        "downloads": selectors.download_summary(campaign),
        "can_stop_downloads": workflow.can_stop_downloads(campaign, user),
        **_schedule_context(campaign),
    })


def _schedule_context(campaign: Campaign) -> dict:
    """Approvals so far while in review; when an approved or sending campaign (re)starts in its send window."""
    if campaign.state == Campaign.State.IN_REVIEW:
        return {"approval_progress": approval_policy.progress(campaign)}
    if campaign.state in (Campaign.State.APPROVED, Campaign.State.SENDING, Campaign.State.PAUSED):
        now = timezone.now()
        starts = send_window.expected_start(campaign.send_after, now)
        hold_ends = campaign.approved_at + timedelta(seconds=settings.MAILGUARD["HOLD_SECONDS"]) \
            if campaign.state == Campaign.State.APPROVED and campaign.approved_at else now
        return {"expected_start": starts, "waits_for_window": starts > max(now, hold_ends),
                "send_window": send_window.describe() if send_window.configured() else ""}
    return {}


@passive  # polled by the open page: not activity that keeps the session alive
@role_required(*ANY_ROLE)
def campaign_progress(request, pk: int):
    """Live progress for the status page (polled by static/js/progress.js)."""
    campaign = selectors.campaign_for(request.user, pk)
    counts = selectors.delivery_counts(campaign)
    rate = selectors.recent_send_rate(campaign)
    remaining = counts["pending"] + counts["sending"]
    return JsonResponse({"state": campaign.state, "state_label": str(campaign.get_state_display()),
                         "counts": counts, "total": sum(counts.values()),
                         "rate_per_second": round(rate, 1),
                         "eta_seconds": round(remaining / rate) if rate and remaining else None,
                         "send_after": campaign.send_after.isoformat() if campaign.send_after else None,
                         "pause_reason": campaign.pause_reason})


@role_required(*ANY_ROLE)
def attachment_download(request, pk: int, attachment_pk: int):
    campaign = selectors.campaign_for(request.user, pk)
    attachment = selectors.attachment_of(campaign, attachment_pk)
    if campaign.state == Campaign.State.IN_REVIEW and has_role(request.user, Role.REVIEWER):
        review_evidence.record_opened(campaign, request.user, ReviewActivity.Kind.ATTACHMENT, attachment.pk)
    return private_file_response(attachment.file, attachment.filename, attachment.content_type)


@require_POST
@role_required(Role.DRAFTER, Role.REVIEWER)
def campaign_pause(request, pk: int):
    campaign = selectors.campaign_for(request.user, pk)
    perform(request, workflow.pause, campaign, request.user, request.POST.get("reason", "")[:500],
            success=_("Paused: no further message leaves after the current batch."))
    return back_to(campaign)


@require_POST
@role_required(Role.DRAFTER, Role.REVIEWER)
def campaign_resume(request, pk: int):
    campaign = selectors.campaign_for(request.user, pk)
    perform(request, workflow.resume, campaign, request.user, success=_("Resumed."))
    return back_to(campaign)


@require_POST
@role_required(Role.REVIEWER)
def in_doubt_resolve(request, pk: int):
    """A person decides about deliveries in doubt: resend them, or mark them delivered."""
    campaign = selectors.campaign_for(request.user, pk)
    ids = [int(i) for i in request.POST.getlist("delivery") if i.isdigit()]
    resend = request.POST.get("decision") == "resend"
    perform(request, workflow.resolve_in_doubt, campaign, request.user, ids, resend,
            success=_("Recorded your decision for %(count)d deliveries.") % {"count": len(ids)})
    return back_to(campaign)
