"""Reviewer pages: the queue, the review of one campaign, the sandboxed preview, the decision."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from .. import approval_policy, guards, review_evidence, selectors, send_window, workflow
from ..forms import ApproveForm, RejectForm
from ..guards.texts import displayed
from ..merge import MergeError
from ..models import Campaign, ReviewActivity
from ..rendering import render_for
from ..roles import Role
from ..selectors import reviewer as reviewer_queries
from .common import back_to, perform, role_required

MODE_EXPLANATIONS = {
    Campaign.RecipientMode.INDIVIDUAL: gettext_lazy(
        "Each recipient receives their own message and sees only their own address in To."),
    Campaign.RecipientMode.BCC: gettext_lazy(
        "Each recipient receives their own message; To shows the sender's address and the recipient "
        "is only in the envelope."),
    Campaign.RecipientMode.SHARED: gettext_lazy(
        "One message: every recipient sees every other recipient's address in To."),
}


@role_required(Role.REVIEWER)
def review_queue(request):
    return render(request, "approvals/reviewer/queue.html", {"campaigns": selectors.review_queue(request.user)})


@role_required(Role.REVIEWER)
def review(request, pk: int):
    campaign = selectors.campaign_for(request.user, pk)
    query = request.GET.get("q", "").strip()
    page = reviewer_queries.recipient_page(campaign, query, request.GET.get("page"))
    recipient = page.object_list[0] if page.object_list else None
    rendered, render_error = None, ""
    if recipient is not None:
        try:
            rendered = render_for(campaign, recipient)
        except MergeError as err:
            render_error = str(err)
        if campaign.state == Campaign.State.IN_REVIEW:
            review_evidence.record_opened(campaign, request.user, ReviewActivity.Kind.PREVIEW, recipient.pk)
    return render(request, "approvals/reviewer/review.html", {
        "campaign": campaign,
        "mode_explanation": MODE_EXPLANATIONS[campaign.recipient_mode],
        "recipient_count": selectors.recipient_count(campaign),
        "domains": selectors.domain_breakdown(campaign),
        "page": page,
        "query": query,
        "recipient": recipient,
        "rendered": rendered,
        "render_error": render_error,
        "approve_form": ApproveForm(initial={"content_hash": campaign.submitted_hash}),
        "reject_form": RejectForm(),
        "can_decide": workflow.can("approve", campaign, request.user),
        "missing": review_evidence.missing_evidence(campaign, request.user),
        "findings": displayed(campaign.findings),
        "to_acknowledge": displayed(guards.needing_acknowledgement(campaign.findings)),
        "reviews": selectors.reviews(campaign),
        "attachments": selectors.attachments(campaign),
        **_approval_context(campaign, request.user),
    })


def _approval_context(campaign: Campaign, user) -> dict:
    """How many approvals this version needs and has, and when sending would start if approved now."""
    if campaign.state != Campaign.State.IN_REVIEW:
        return {}
    return {
        "approval_progress": approval_policy.progress(campaign),
        "already_approved": approval_policy.has_approved(campaign, user),
        "expected_start": send_window.start_after_approval(timezone.now()),
        "send_window": send_window.describe() if send_window.configured() else "",
    }


@xframe_options_sameorigin
@role_required(Role.REVIEWER, Role.DRAFTER, Role.AUDITOR)
def preview_html(request, pk: int, recipient_pk: int):
    """The drafter's HTML, sanitised, for an iframe sandbox: no scripts, no same origin."""
    campaign = selectors.campaign_for(request.user, pk)
    recipient = selectors.recipient_of(campaign, recipient_pk)
    try:
        html = render_for(campaign, recipient).html
    except MergeError as err:
        html = ""
        messages.error(request, str(err))
    response = HttpResponse(html or "", content_type="text/html; charset=utf-8")
    # Only the review page (same origin) may frame it; inside, nothing runs and nothing loads.
    response["Content-Security-Policy"] = (
        "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@role_required(Role.REVIEWER)
def approve(request, pk: int):
    campaign = selectors.campaign_for(request.user, pk)
    form = ApproveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The approval form was incomplete; open the review again."))
        return redirect("review", pk=pk)
    if perform(request, workflow.approve, campaign, request.user, form.cleaned_data["content_hash"],
               form.cleaned_data["comment"], request.POST.getlist("acknowledge")):
        campaign.refresh_from_db(fields=["state"])
        if campaign.state == Campaign.State.IN_REVIEW:
            messages.success(request, _("Your approval is recorded. Another reviewer must approve this version "
                                        "too before anything is sent."))
        else:
            messages.success(request, _("Approved."))
        return back_to(campaign)
    return redirect("review", pk=pk)


@require_POST
@role_required(Role.REVIEWER)
def reject(request, pk: int):
    campaign = selectors.campaign_for(request.user, pk)
    form = RejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say what the drafter should change."))
        return redirect("review", pk=pk)
    perform(request, workflow.reject, campaign, request.user, form.cleaned_data["comment"],
            success=_("Rejected; the drafter has been asked to change it."))
    return back_to(campaign)
