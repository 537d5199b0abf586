"""Auditor pages (read-only): every campaign with filters, its timeline and delivery ledger, the exact
approved version, an incident report, everything sent to one address, charts, CSV and JSON exports.

Every view requires the Auditor role and only reads: nothing here changes a row.
"""

import json

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from .. import audit_checkpoints, charts, reports, role_grants, selectors
from ..exports import csv_response, download_headers
from ..forms import CampaignFilterForm
from ..models import Delivery
from ..roles import Role
from ..selectors import auditor as queries
from .common import role_required

DASHBOARD_DAYS = 30
DOWNLOAD_ROWS_SHOWN = 500


def auditor_page(view):
    """Auditor role, and GET/HEAD only: these pages never change anything."""
    return role_required(Role.AUDITOR)(require_safe(view))


# --- The campaign list and its filters ------------------------------------------------------


@auditor_page
def campaigns(request):
    form = CampaignFilterForm(request.GET or None)
    page = queries.campaign_page(form.filters(), request.GET.get("page"))
    return render(request, "approvals/auditor/campaigns.html", {
        "page": page,
        "form": form,
        "filtered": form.is_bound and any(v for k, v in request.GET.items() if k != "page"),
        # The last signed checkpoint (beat writes one hourly), not a walk of the whole chain per view.
        "verification": audit_checkpoints.last_verification(),
        "recent_grants": role_grants.flagged_approvals(list(page.object_list)),
    })


# --- One campaign ---------------------------------------------------------------------------


@auditor_page
def campaign_audit(request, pk: int):
    campaign = selectors.campaign_for(request.user, pk)
    status = request.GET.get("status", "")
    status = status if status in Delivery.Status.values else ""
    query = request.GET.get("q", "").strip()
    return render(request, "approvals/auditor/campaign.html", {
        "campaign": campaign,
        "events": selectors.timeline(campaign),
        "reviews": selectors.reviews(campaign),
        "counts": selectors.delivery_counts(campaign),
        "recent_grants": role_grants.recent_grants(campaign),
        "page": queries.ledger_page(campaign, status, query, request.GET.get("page")),
        "statuses": Delivery.Status.choices,
        "status": status,
        "query": query,
        "downloads": selectors.download_summary(campaign),
        "download_ledger": selectors.download_ledger(campaign)[:DOWNLOAD_ROWS_SHOWN],
    })


@auditor_page
def approved_version(request, pk: int):
    campaign = selectors.campaign_for(request.user, pk)
    return render(request, "approvals/auditor/approved_version.html", {
        "campaign": campaign,
        "version": reports.approved_version(campaign) if campaign.approved_hash else None,
    })


# --- Accounts, roles, senders and domains: who changed what ----------------------------------


@auditor_page
def account_changes(request):
    """Every audit event that belongs to no campaign: accounts, roles, sender identities, domains."""
    return render(request, "approvals/auditor/changes.html", {
        "page": queries.account_changes_page(request.GET.get("page")),
    })


# --- Everything sent to one address -----------------------------------------------------------


@auditor_page
def address_history(request):
    address = request.GET.get("email", "").strip()
    page = unsent = None
    if address:
        page = queries.deliveries_to(address, request.GET.get("page"))
        unsent = queries.unsent_to(address)
    return render(request, "approvals/auditor/address.html", {"address": address, "page": page, "unsent": unsent})


# --- Charts -----------------------------------------------------------------------------------


@auditor_page
def dashboard(request):
    days = charts.daily_deliveries(DASHBOARD_DAYS)
    states = charts.campaigns_per_state()
    recent = charts.bounce_rate_of(days)
    overall = charts.bounce_rate()
    return render(request, "approvals/auditor/dashboard.html", {
        "days": days,
        "day_count": DASHBOARD_DAYS,
        "daily_svg": charts.daily_deliveries_svg(days),
        "daily_totals": {"sent": sum(d.sent for d in days), "failed": sum(d.failed for d in days)},
        "states": states,
        "states_svg": charts.campaigns_per_state_svg(states),
        "bounce_recent": recent,
        "bounce_recent_svg": charts.bounce_rate_svg(recent),
        "bounce_overall": overall,
        "bounce_overall_svg": charts.bounce_rate_svg(overall),
    })


# --- Exports ----------------------------------------------------------------------------------


@auditor_page
def deliveries_csv(request, pk: int):
    campaign = selectors.campaign_for(request.user, pk)
    labels = {status: str(label) for status, label in Delivery.Status.choices}  # translated once, not per row
    header = [_("Address"), _("Status"), _("ESP message id"), _("Error"), _("Attempts"), _("Sent at (UTC)")]
    rows = (
        (email, labels.get(status, status), esp_id, error, attempts, sent_at)
        for email, status, esp_id, error, attempts, sent_at in queries.export_rows(campaign)
    )
    return csv_response(_with_header(header, rows), f"campaign-{campaign.pk}-deliveries.csv")


def _with_header(header, rows):
    yield header
    yield from rows


@auditor_page
def incident_report(request, pk: int):
    campaign = selectors.campaign_for(request.user, pk)
    report = reports.incident_report(campaign)
    return render(request, "approvals/auditor/incident_report.html", {
        "campaign": campaign,
        "report": report,
        "threshold": reports.REPORTING_THRESHOLD,
        "status_labels": dict(Delivery.Status.choices),
    })


@auditor_page
def incident_report_csv(request, pk: int):
    campaign = selectors.campaign_for(request.user, pk)
    tables = reports.report_tables(reports.incident_report(campaign))
    return csv_response(_report_rows(tables), f"campaign-{campaign.pk}-incident-report.csv")


def _report_rows(tables):
    """One block per section: its title, its header, its rows, an empty line."""
    for title, header, rows in tables:
        yield [title]
        yield header
        yield from rows
        yield []


@auditor_page
def incident_report_json(request, pk: int):
    campaign = selectors.campaign_for(request.user, pk)
    body = json.dumps(reports.incident_report(campaign), ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    return download_headers(response, f"campaign-{campaign.pk}-incident-report.json")
