"""Drafter pages: create a campaign, upload its list, write the message, attach files, submit."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import selectors, workflow
from ..forms import AttachmentForm, CampaignCreateForm, CancelForm, ColumnsForm, ListUploadForm, MessageForm
from ..guards.context import unused_columns_of
from ..guards.texts import displayed
from ..intake.lists import ListError, read_recipient_list
from ..models import Campaign
from ..roles import Role
from ..selectors import drafter as drafter_queries
from .common import back_to, perform, role_required


@role_required(Role.DRAFTER)
def campaign_list(request):
    return render(request, "approvals/drafter/campaign_list.html",
                  {"campaigns": drafter_queries.campaigns_of(request.user)})


@role_required(Role.DRAFTER)
def campaign_create(request):
    form = CampaignCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        campaign = workflow.create_campaign(request.user, form.cleaned_data["name"])
        return redirect("campaign_edit", pk=campaign.pk)
    return render(request, "approvals/drafter/campaign_create.html", {"form": form})


@role_required(Role.DRAFTER)
def campaign_edit(request, pk: int):
    campaign = selectors.campaign_for(request.user, pk)
    if not campaign.is_editable:
        return back_to(campaign)
    form = MessageForm(request.POST or None, instance=campaign)
    if request.method == "POST" and form.is_valid():
        if _save_message(request, campaign, form, success=_("Saved.")):
            return redirect("campaign_edit", pk=campaign.pk)
    return _edit_page(request, campaign, form)


def _save_message(request, campaign, form: MessageForm, success: str = "") -> bool:
    values = {name: form.cleaned_data[name] for name in workflow.MESSAGE_FIELDS}
    # The form must not write the model itself: the workflow checks and records the edit.
    form.instance.refresh_from_db()
    return perform(request, workflow.update_message, campaign, request.user, **values, success=success)


def _edit_page(request, campaign, form: MessageForm):
    return render(request, "approvals/drafter/campaign_edit.html", {
        "campaign": campaign,
        "form": form,
        "upload_form": ListUploadForm(),
        "columns_form": ColumnsForm(columns=campaign.columns, initial={
            "address_column": campaign.address_column, "name_column": campaign.name_column}),
        "attachment_form": AttachmentForm(),
        "findings": displayed(workflow.current_findings(campaign)),
        "unused_columns": unused_columns_of(campaign),
        "recipient_count": selectors.recipient_count(campaign),
        "sample_recipients": drafter_queries.first_rows(campaign),
        "attachments": selectors.attachments(campaign),
        "rejection": selectors.latest_review(campaign) if campaign.state == Campaign.State.REJECTED else None,
    })


@require_POST
@role_required(Role.DRAFTER)
def list_upload(request, pk: int):
    campaign = selectors.campaign_for(request.user, pk)
    form = ListUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a file to upload."))
        return redirect("campaign_edit", pk=pk)
    upload = form.cleaned_data["file"]
    limits = settings.MAILGUARD
    if upload.size > limits["MAX_LIST_BYTES"]:
        messages.error(request, _("The list is larger than the limit of %(mb)d MB.")
                       % {"mb": limits["MAX_LIST_BYTES"] // (1024 * 1024)})
        return redirect("campaign_edit", pk=pk)
    try:
        table = read_recipient_list(upload.name, upload.read(), max_bytes=limits["MAX_LIST_BYTES"],
                                    max_rows=limits["MAX_RECIPIENTS"])
    except ListError as err:
        messages.error(request, str(err))
        return redirect("campaign_edit", pk=pk)
    perform(request, workflow.replace_recipient_list, campaign, request.user, upload.name, table,
            success=_("%(count)d recipients read from %(name)s.") % {"count": len(table.rows), "name": upload.name})
    return redirect("campaign_edit", pk=pk)


@require_POST
@role_required(Role.DRAFTER)
def columns_choose(request, pk: int):
    campaign = selectors.campaign_for(request.user, pk)
    form = ColumnsForm(request.POST, columns=campaign.columns)
    if form.is_valid():
        perform(request, workflow.choose_columns, campaign, request.user,
                form.cleaned_data["address_column"], form.cleaned_data["name_column"], success=_("Saved."))
    else:
        messages.error(request, _("Choose columns that exist in the uploaded list."))
    return redirect("campaign_edit", pk=pk)


@require_POST
@role_required(Role.DRAFTER)
def attachment_add(request, pk: int):
    campaign = selectors.campaign_for(request.user, pk)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a file to attach."))
        return redirect("campaign_edit", pk=pk)
    upload = form.cleaned_data["file"]
    perform(request, workflow.add_attachment, campaign, request.user, upload.name, upload.read(),
            upload.content_type, success=_("Attached %(name)s.") % {"name": upload.name})
    return redirect("campaign_edit", pk=pk)


@require_POST
@role_required(Role.DRAFTER)
def attachment_remove(request, pk: int, attachment_pk: int):
    campaign = selectors.campaign_for(request.user, pk)
    attachment = selectors.attachment_of(campaign, attachment_pk)
    perform(request, workflow.remove_attachment, campaign, request.user, attachment, success=_("Removed."))
    return redirect("campaign_edit", pk=pk)


@require_POST
@role_required(Role.DRAFTER)
def campaign_submit(request, pk: int):
    """Save what is typed in the message form, then submit: one click, nothing typed is lost."""
    campaign = selectors.campaign_for(request.user, pk)
    if MessageForm.posted_in(request.POST) and campaign.is_editable:
        form = MessageForm(request.POST, instance=campaign)
        if not form.is_valid():
            return _edit_page(request, campaign, form)
        if not _save_message(request, campaign, form):
            return _edit_page(request, campaign, form)
    if perform(request, workflow.submit, campaign, request.user,
               success=_("Submitted for review. The content is now frozen.")):
        return back_to(campaign)
    return redirect("campaign_edit", pk=pk)


@require_POST
@role_required(Role.DRAFTER, Role.REVIEWER)
def campaign_cancel(request, pk: int):
    campaign = selectors.campaign_for(request.user, pk)
    form = CancelForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    perform(request, workflow.cancel, campaign, request.user, reason, success=_("Cancelled."))
    return back_to(campaign)


@require_POST
@role_required(Role.DRAFTER)
def columns_drop(request, pk: int):
    campaign = selectors.campaign_for(request.user, pk)
    perform(request, workflow.drop_columns, campaign, request.user, request.POST.getlist("column"),
            success=_("The columns were removed from every stored row."))
    return redirect("campaign_edit", pk=pk)


@require_POST
@role_required(Role.DRAFTER)
def proof_send(request, pk: int):
    campaign = selectors.campaign_for(request.user, pk)
    row = request.POST.get("row", "")
    recipient = selectors.recipient_at_row(campaign, row)
    if recipient is None:
        messages.error(request, _("There is no list row %(row)s; enter a row number from the list.") % {"row": row})
    else:
        perform(request, workflow.send_proof, campaign, request.user, recipient,
                success=_("A proof was sent to %(address)s.") % {"address": request.user.email})
    return redirect("campaign_edit", pk=pk) if campaign.is_editable else back_to(campaign)


@require_POST
@role_required(Role.DRAFTER)
def campaign_copy(request, pk: int):
    campaign = selectors.campaign_for(request.user, pk)
    copy = workflow.copy_campaign(campaign, request.user)
    messages.success(request, _("A new draft was created; it needs its own review."))
    return redirect("campaign_edit", pk=copy.pk)
