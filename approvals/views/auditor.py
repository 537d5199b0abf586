"""Auditor pages (read-only): every campaign with filters, its timeline and delivery ledger, the exact
approved version, an incident report, everything sent to one address, charts, CSV and JSON exports.

Every view requires the Auditor role and only reads: nothing here changes a row.
"""

import csv
import json

from django import forms
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from .. import audit, charts, reports, selectors
from ..models import Campaign, Delivery, Recipient
from ..roles import Role
from .common import role_required

# Cells that spreadsheet programs would run as formulas (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")
DASHBOARD_DAYS = 30
DOWNLOAD_ROWS_SHOWN = 500


def auditor_page(view):
    """Auditor role, and GET/HEAD only: these pages never change anything."""
    return role_required(Role.AUDITOR)(require_safe(view))


# --- The campaign list and its filters ------------------------------------------------------


def _people(related_name: str):
    return get_user_model().objects.filter(**{f"{related_name}__isnull": False}).distinct().order_by("username")


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_username()


class CampaignFilterForm(forms.Form):
    DATE_FIELDS = {"created": "created_at", "approved": "approved_at"}

    state = forms.ChoiceField(label=gettext_lazy("State"), required=False)
    date_field = forms.ChoiceField(
        label=gettext_lazy("Date"), required=False,
        choices=[("created", gettext_lazy("Created")), ("approved", gettext_lazy("Approved"))],
    )
    date_from = forms.DateField(label=gettext_lazy("From"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=gettext_lazy("To"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))
    drafter = UserChoiceField(label=gettext_lazy("Drafter"), required=False, queryset=None,
                              empty_label=gettext_lazy("All drafters"))
    reviewer = UserChoiceField(label=gettext_lazy("Approved by"), required=False, queryset=None,
                               empty_label=gettext_lazy("All reviewers"))
    domain = forms.CharField(label=gettext_lazy("Recipient domain"), required=False, max_length=253,
                             widget=forms.TextInput(attrs={"placeholder": "example.jp"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", _("All states")), *Campaign.State.choices]
        self.fields["drafter"].queryset = _people("drafted_campaigns")
        self.fields["reviewer"].queryset = _people("approved_campaigns")
        for field in self.fields.values():
            select = isinstance(field.widget, forms.Select)
            field.widget.attrs["class"] = "form-select form-select-sm" if select else "form-control form-control-sm"

    def clean_domain(self):
        return self.cleaned_data["domain"].strip().lstrip("@").lower()

    def apply(self, campaigns):
        """Filter by every field that is valid; an invalid one is shown with its error and ignored."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        if data.get("state"):
            campaigns = campaigns.filter(state=data["state"])
        field = self.DATE_FIELDS.get(data.get("date_field") or "created", "created_at")
        if data.get("date_from"):
            campaigns = campaigns.filter(**{f"{field}__date__gte": data["date_from"]})
        if data.get("date_to"):
            campaigns = campaigns.filter(**{f"{field}__date__lte": data["date_to"]})
        if data.get("drafter"):
            campaigns = campaigns.filter(drafter=data["drafter"])
        if data.get("reviewer"):
            campaigns = campaigns.filter(approved_by=data["reviewer"])
        if data.get("domain"):
            campaigns = campaigns.filter(Exists(Recipient.objects.filter(
                campaign=OuterRef("pk"), email__iendswith="@" + data["domain"])))
        return campaigns


@auditor_page
def campaigns(request):
    sent = Count("deliveries", filter=Q(deliveries__status=Delivery.Status.SENT), distinct=True)
    failed = Count("deliveries", filter=Q(deliveries__status=Delivery.Status.FAILED), distinct=True)
    in_doubt = Count("deliveries", filter=Q(deliveries__status=Delivery.Status.IN_DOUBT), distinct=True)
    form = CampaignFilterForm(request.GET or None)
    rows = Campaign.objects.select_related("drafter", "approved_by").order_by("-created_at")
    if form.is_bound:
        rows = form.apply(rows)
    rows = rows.annotate(
        recipient_total=Count("recipients", distinct=True), sent=sent, failed=failed, in_doubt=in_doubt
    )
    return render(request, "approvals/auditor/campaigns.html", {
        "page": Paginator(rows, 50).get_page(request.GET.get("page")),
        "form": form,
        "filtered": form.is_bound and any(v for k, v in request.GET.items() if k != "page"),
        "chain": audit.verify_chain(),
    })


# --- One campaign ---------------------------------------------------------------------------


@auditor_page
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


# --- Everything sent to one address -----------------------------------------------------------


@auditor_page
def address_history(request):
    address = request.GET.get("email", "").strip()
    page = unsent = None
    if address:
        deliveries = (
            Delivery.objects.filter(email__iexact=address)
            .select_related("campaign", "campaign__approved_by", "campaign__drafter")
            .order_by("-campaign__created_at", "-id")
        )
        page = Paginator(deliveries, 100).get_page(request.GET.get("page"))
        # On a list that was never approved: stored, but never sent.
        unsent = (
            Recipient.objects.filter(email__iexact=address, delivery__isnull=True)
            .select_related("campaign").order_by("-campaign__created_at", "row_number")[:200]
        )
    return render(request, "approvals/auditor/address.html", {"address": address, "page": page, "unsent": unsent})


# --- Charts -----------------------------------------------------------------------------------


@auditor_page
def dashboard(request):
    days = charts.daily_deliveries(DASHBOARD_DAYS)
    states = charts.campaigns_per_state()
    recent = charts.bounce_rate(since=days[0].day)
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


def neutralise(value) -> str:
    """Prefix a quote so Excel shows the text instead of evaluating it."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


class _Echo:
    def write(self, value):
        return value


def _download_headers(response, filename: str):
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


@auditor_page
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
    buffer = _Echo()
    writer = csv.writer(buffer)
    parts = ["\ufeff"]  # UTF-8 BOM so Excel reads Japanese correctly
    for title, header, rows in reports.report_tables(reports.incident_report(campaign)):
        parts.append(writer.writerow([neutralise(title)]))
        parts.append(writer.writerow([neutralise(h) for h in header]))
        parts.extend(writer.writerow([neutralise(v) for v in row]) for row in rows)
        parts.append(writer.writerow([]))
    response = HttpResponse("".join(parts), content_type="text/csv; charset=utf-8")
    return _download_headers(response, f"campaign-{campaign.pk}-incident-report.csv")


@auditor_page
def incident_report_json(request, pk: int):
    campaign = selectors.campaign_for(request.user, pk)
    body = json.dumps(reports.incident_report(campaign), ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    return _download_headers(response, f"campaign-{campaign.pk}-incident-report.json")
