"""Queries for the auditor's pages: the campaign list and its filters, one campaign's ledger,
everything sent to one address, and the rows of the CSV export.

Each page reads a bounded number of rows: counts come from the ledger's counters, lists
are paged, and the filters use indexes (see the models' ``Meta.indexes``).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from django.contrib.auth import get_user_model
from django.core.paginator import Page, Paginator
from django.db.models import CharField, Count, Exists, Func, OuterRef, QuerySet, Value
from django.db.models.functions import Lower

from .. import timeline
from ..delivery import ledger
from ..models import AuditEvent, Campaign, Delivery, Recipient, email_domain

CAMPAIGNS_PER_PAGE = 50
DELIVERIES_PER_PAGE = 100
UNSENT_SHOWN = 200
DATE_FIELDS = {"created": "created_at", "approved": "approved_at"}


def people_who(related_name: str) -> QuerySet:
    """Users who drafted (``drafted_campaigns``) or approved (``approved_campaigns``) anything."""
    return get_user_model().objects.filter(**{f"{related_name}__isnull": False}).distinct().order_by("username")


@dataclass(frozen=True)
class CampaignFilters:
    state: str = ""
    date_field: str = "created"
    date_from: date | None = None
    date_to: date | None = None
    drafter: object = None
    reviewer: object = None
    domain: str = ""


def campaigns(filters: CampaignFilters | None = None) -> QuerySet[Campaign]:
    f = filters or CampaignFilters()
    rows = Campaign.objects.select_related("drafter", "approved_by", "delivery_counts").order_by("-created_at", "-id")
    if f.state:
        rows = rows.filter(state=f.state)
    field = DATE_FIELDS.get(f.date_field or "created", "created_at")
    if f.date_from:
        rows = rows.filter(**{f"{field}__date__gte": f.date_from})
    if f.date_to:
        rows = rows.filter(**{f"{field}__date__lte": f.date_to})
    if f.drafter:
        rows = rows.filter(drafter=f.drafter)
    if f.reviewer:
        rows = rows.filter(approved_by=f.reviewer)
    if f.domain:
        on_domain = Recipient.objects.annotate(domain=email_domain()).filter(campaign=OuterRef("pk"), domain=f.domain)
        rows = rows.filter(Exists(on_domain))
    return rows


def campaign_page(filters: CampaignFilters | None, number) -> Page:
    """One page of the list, each campaign carrying its recipients, sent, failed and in-doubt counts."""
    page = Paginator(campaigns(filters), CAMPAIGNS_PER_PAGE).get_page(number)
    listed = list(page.object_list)
    counts = ledger.kept_counts(c.pk for c in listed)
    # Before approval there is no ledger yet: count the list itself (only for those campaigns).
    unsent = [c.pk for c in listed if not sum(counts[c.pk].values())]
    list_sizes = dict(
        Recipient.objects.filter(campaign_id__in=unsent).order_by().values_list("campaign_id")
        .annotate(n=Count("id"))
    ) if unsent else {}
    for campaign in listed:
        kept = counts[campaign.pk]
        campaign.recipient_total = list_sizes.get(campaign.pk, sum(kept.values()))
        campaign.sent, campaign.failed, campaign.in_doubt = kept["sent"], kept["failed"], kept["in_doubt"]
    page.object_list = listed
    return page


# --- One campaign's ledger -------------------------------------------------------------------


def ledger_page(campaign: Campaign, status: str, query: str, number) -> Page:
    """The campaign's deliveries in id order, by status and/or address, one page of them."""
    deliveries = Delivery.objects.filter(campaign=campaign).order_by("id")
    if status:
        deliveries = deliveries.filter(status=status)
    if query:
        deliveries = deliveries.filter(email__icontains=query)
    paginator = Paginator(deliveries, DELIVERIES_PER_PAGE)
    if not query:
        # The ledger's counters already know how many rows there are: no count over them.
        kept = ledger.kept_counts([campaign.pk])[campaign.pk]
        paginator.count = kept[status] if status else sum(kept.values())
    return paginator.get_page(number)


class UtcText(Func):
    """A timestamp as ISO 8601 text in UTC with a Z (``reports.utc``'s format), written by the database.

    Exports read thousands of timestamps only to print them; formatting them in SQL spares
    turning each into a Python datetime and back (half the time of a ledger export).
    """

    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra):
        template = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # Django stores SQLite timestamps as UTC text; %% survives both formatting passes as one %.
        return self.as_sql(compiler, connection, template="strftime('%%%%Y-%%%%m-%%%%dT%%%%H:%%%%M:%%%%SZ', "
                                                          "%(expressions)s)", **extra)


def export_rows(campaign: Campaign) -> Iterator[tuple]:
    """Every delivery of the campaign as plain tuples (sent_at as UTC text), read in chunks."""
    return (
        Delivery.objects.filter(campaign=campaign).order_by("id")
        .values_list("email", "status", "esp_message_id", "error", "attempts", UtcText("sent_at"))
        .iterator(chunk_size=2000)
    )


# --- One address across every campaign ---------------------------------------------------------


def _same_address(rows: QuerySet, address: str) -> QuerySet:
    """Rows for this address in any case (over the ``Lower(email)`` index)."""
    return rows.annotate(email_lower=Lower("email")).filter(email_lower=Lower(Value(address)))


def deliveries_to(address: str, number) -> Page:
    deliveries = (
        _same_address(Delivery.objects.all(), address)
        .select_related("campaign", "campaign__approved_by", "campaign__drafter")
        .order_by("-campaign__created_at", "-id")
    )
    return Paginator(deliveries, DELIVERIES_PER_PAGE).get_page(number)


def unsent_to(address: str) -> list[Recipient]:
    """On a list that was never approved: stored, but never sent."""
    return list(
        _same_address(Recipient.objects.filter(delivery__isnull=True), address)
        .select_related("campaign").order_by("-campaign__created_at", "row_number")[:UNSENT_SHOWN]
    )


def account_changes_page(number) -> Page:
    """Audit events that belong to no campaign (accounts, roles, senders, domains), newest first,
    each with its label in words."""
    events = AuditEvent.objects.filter(campaign__isnull=True).order_by("-id")
    page = Paginator(events, DELIVERIES_PER_PAGE).get_page(number)
    page.object_list = list(page.object_list)
    for event in page.object_list:
        event.label = timeline.label(event.action)
    return page
