"""Stopping a campaign's download links ("stop all downloads"), for the people who may stop a send."""

from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import selectors, workflow
from ..forms import CancelForm
from ..roles import Role
from .common import back_to, perform, role_required


@require_POST
@role_required(Role.DRAFTER, Role.REVIEWER)
def downloads_stop(request, pk: int):
    campaign = selectors.campaign_for(request.user, pk)
    form = CancelForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    perform(request, workflow.stop_downloads, campaign, request.user, reason,
            success=_("Every download link of this campaign is stopped."))
    return back_to(campaign)
