"""Every item of one finding, paged: a finding's sentence quotes a few, this page shows them all."""

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from .. import selectors, workflow
from ..guards.texts import displayed, item_columns
from ..roles import Role
from .common import role_required

ITEMS_PER_PAGE = 100


@role_required(Role.REVIEWER, Role.DRAFTER, Role.AUDITOR)
def finding_items(request, pk: int, key: str):
    campaign = selectors.campaign_for(request.user, pk)
    # A draft's findings are those of its current content; a submitted campaign's are the stored ones.
    findings = displayed(workflow.current_findings(campaign) if campaign.is_editable else campaign.findings)
    finding = next((f for f in findings if f["key"] == key), None)
    if finding is None:
        raise Http404
    items = finding.get("items") or [[row] for row in finding.get("rows") or []]
    page = Paginator(items, ITEMS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "approvals/finding_items.html", {
        "campaign": campaign,
        "finding": finding,
        "columns": item_columns(finding["code"]) if finding.get("items") else item_columns(""),
        "page": page,
    })
