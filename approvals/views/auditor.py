"""Auditor pages (read-only): every campaign, its timeline, its delivery ledger, CSV export."""

import csv

from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from .. import audit, selectors
from ..models import Campaign, Delivery
from ..roles import Role
from .common import role_required

# Cells that spreadsheet programs would run as formulas (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")


@role_required(Role.AUDITOR)
def campaigns(request):
    sent = Count("deliveries", filter=Q(deliveries__status=Delivery.Status.SENT), distinct=True)
    failed = Count("deliveries", filter=Q(deliveries__status=Delivery.Status.FAILED), distinct=True)
    in_doubt = Count("deliveries", filter=Q(deliveries__status=Delivery.Status.IN_DOUBT), distinct=True)
    rows = Campaign.objects.select_related("drafter", "approved_by").order_by("-created_at").annotate(
        recipient_total=Count("recipients", distinct=True), sent=sent, failed=failed, in_doubt=in_doubt
    )
    state = request.GET.get("state", "")
    if state in Campaign.State.values:
        rows = rows.filter(state=state)
    return render(request, "approvals/auditor/campaigns.html", {
        "page": Paginator(rows, 50).get_page(request.GET.get("page")),
        "states": Campaign.State.choices,
        "state": state,
        "chain": audit.verify_chain(),
    })


@role_required(Role.AUDITOR)
def campaign_audit(request, pk: int):
    campaign = selectors.campaign_for(request.user, pk)
    deliveries = campaign.deliveries.order_by("id")
    status = request.GET.get("status", "")
    if status in Delivery.Status.values:
        deliveries = deliveries.filter(status=status)
    query = request.GET.get("q", "").strip()
    if query:
        deliveries = deliveries.filter(email__icontains=query)
    return render(request, "approvals/auditor/campaign.html", {
        "campaign": campaign,
        "events": campaign.events.select_related("actor"),
        "reviews": campaign.reviews.select_related("reviewer"),
        "counts": selectors.delivery_counts(campaign),
        "page": Paginator(deliveries, 100).get_page(request.GET.get("page")),
        "statuses": Delivery.Status.choices,
        "status": status,
        "query": query,
    })


def neutralise(value) -> str:
    """Prefix a quote so Excel shows the text instead of evaluating it."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


class _Echo:
    def write(self, value):
        return value


@role_required(Role.AUDITOR)
def deliveries_csv(request, pk: int):
    campaign = selectors.campaign_for(request.user, pk)
    writer = csv.writer(_Echo())
    header = [_("Address"), _("Status"), _("ESP message id"), _("Error"), _("Attempts"), _("Sent at")]

    def rows():
        yield "\ufeff"  # UTF-8 BOM so Excel reads Japanese correctly
        yield writer.writerow(header)
        for d in campaign.deliveries.order_by("id").iterator(chunk_size=2000):
            yield writer.writerow([neutralise(v) for v in (
                d.email, d.get_status_display(), d.esp_message_id, d.error, d.attempts,
                d.sent_at.isoformat() if d.sent_at else "")])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}-deliveries.csv"'
    return response
