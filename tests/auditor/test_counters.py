"""The counters the ledger keeps: always equal to counting the rows, and pages that read only them."""

from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from approvals import workflow
from approvals.delivery import engine, ledger
from approvals.models import Campaign, Delivery
from tests.factories import approved_campaign, members, send_all, submitted_campaign

LEDGER_TABLE = '"approvals_delivery"'


def assert_counters_match(campaign) -> None:
    """The kept counters equal a count of the rows, and a recount finds nothing to correct."""
    assert ledger.kept_counts([campaign.pk])[campaign.pk] == ledger.counts(campaign.pk)
    assert ledger.rebuild_counts([campaign.pk]) == []


def test_counters_follow_every_kind_of_ledger_write(drafter, reviewer, sender):
    campaign = approved_campaign(drafter, reviewer, sender, members(12))
    assert ledger.kept_counts([campaign.pk])[campaign.pk]["pending"] == 12
    assert engine.start(campaign.pk)
    first = ledger.claim_batch(campaign.pk, 6)
    assert_counters_match(campaign)
    ledger.mark_sent(first[0], "esp-0")
    ledger.mark_failed(first[1], "mailbox unavailable")
    ledger.mark_in_doubt(first[2], "no answer")
    ledger.retry_later(first[3], "429", 0)
    ledger.release([first[4]])
    ledger.mark_many_sent([(first[5], "esp-5")])
    assert_counters_match(campaign)
    second = ledger.claim_batch(campaign.pk, 3)
    Delivery.objects.filter(pk__in=[d.pk for d in second]).update(claimed_at=timezone.now() - timedelta(hours=2))
    assert ledger.mark_stale_in_doubt(600) == 3
    assert_counters_match(campaign)
    in_doubt = list(campaign.deliveries.filter(status=Delivery.Status.IN_DOUBT).values_list("pk", flat=True))
    assert ledger.resend_in_doubt(campaign.pk, in_doubt[:2]) == 2
    assert ledger.mark_in_doubt_delivered(campaign.pk, in_doubt[2:]) == 2
    assert_counters_match(campaign)
    assert ledger.cancel_pending(campaign.pk, "stopped") > 0
    assert_counters_match(campaign)
    counts = ledger.kept_counts([campaign.pk])[campaign.pk]
    assert counts["sent"] == 4 and counts["failed"] == 1 and counts["sending"] == 0


def test_a_write_that_changes_nothing_moves_no_counter(drafter, reviewer, sender):
    campaign = approved_campaign(drafter, reviewer, sender, members(2))
    engine.start(campaign.pk)
    claimed = ledger.claim_batch(campaign.pk, 1)
    ledger.mark_sent(claimed[0], "esp-1")
    ledger.mark_sent(claimed[0], "esp-1")  # a repeated outcome: the claim no longer holds
    ledger.mark_failed(claimed[0], "late")
    assert ledger.kept_counts([campaign.pk])[campaign.pk]["sent"] == 1
    assert_counters_match(campaign)


def test_people_resolving_deliveries_in_doubt_keep_the_counters_right(drafter, reviewer, sender):
    campaign = approved_campaign(drafter, reviewer, sender, members(4))
    engine.start(campaign.pk)
    for delivery in ledger.claim_batch(campaign.pk, 4):
        ledger.mark_in_doubt(delivery, "no answer")
    ids = list(campaign.deliveries.values_list("pk", flat=True))
    workflow.resolve_in_doubt(campaign, reviewer, ids[:2], resend=False)
    workflow.resolve_in_doubt(campaign, reviewer, ids[2:], resend=True)
    counts = ledger.kept_counts([campaign.pk])[campaign.pk]
    assert (counts["sent"], counts["pending"], counts["in_doubt"]) == (2, 2, 0)
    assert_counters_match(campaign)


def test_cancelling_an_approved_campaign_moves_its_waiting_deliveries(drafter, reviewer, sender, settings):
    settings.MAILGUARD = {**settings.MAILGUARD, "HOLD_SECONDS": 600}
    campaign = approved_campaign(drafter, reviewer, sender, members(5))
    workflow.cancel(campaign, drafter, "wrong list")
    assert ledger.kept_counts([campaign.pk])[campaign.pk]["cancelled"] == 5
    assert_counters_match(campaign)


def test_rebuild_corrects_counters_after_rows_changed_behind_the_ledgers_back(drafter, reviewer, sender):
    campaign = approved_campaign(drafter, reviewer, sender, members(3))
    send_all(campaign.pk)
    Delivery.objects.filter(campaign=campaign).update(status=Delivery.Status.FAILED)
    assert ledger.kept_counts([campaign.pk])[campaign.pk]["sent"] == 3  # stale, by construction
    out = StringIO()
    call_command("rebuild_delivery_counts", stdout=out)
    assert f"corrected the counters of 1 campaigns: {campaign.pk}" in out.getvalue()
    assert ledger.kept_counts([campaign.pk])[campaign.pk]["failed"] == 3
    out = StringIO()
    call_command("rebuild_delivery_counts", str(campaign.pk), stdout=out)
    assert "every counter matched" in out.getvalue()


# --- Pages read the counters, never the ledger rows --------------------------------------------


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def _history(drafter, reviewer, sender, campaigns: int, size: int) -> list[Campaign]:
    made = []
    for _ in range(campaigns):
        campaign = approved_campaign(drafter, reviewer, sender, members(size))
        send_all(campaign.pk)
        made.append(campaign)
    return made


def test_auditor_list_and_dashboard_never_read_the_ledger_rows(client_for, auditor, drafter, reviewer, sender, esp):
    _history(drafter, reviewer, sender, 2, 3)
    client = client_for(auditor)
    for url in (reverse("audit_campaigns"), reverse("audit_dashboard")):
        assert not [sql for sql in _queries(client, url) if LEDGER_TABLE in sql], url


def test_auditor_list_costs_the_same_queries_for_more_and_bigger_campaigns(
        client_for, auditor, drafter, reviewer, sender, esp):
    client = client_for(auditor)
    _history(drafter, reviewer, sender, 1, 2)
    _queries(client, reverse("audit_campaigns"))  # the first request of a session does some once-only work
    small = len(_queries(client, reverse("audit_campaigns")))
    _history(drafter, reviewer, sender, 3, 25)
    assert len(_queries(client, reverse("audit_campaigns"))) == small


def test_list_shows_each_campaigns_counts_and_the_list_size_before_approval(
        client_for, auditor, drafter, reviewer, sender, esp):
    sent = _history(drafter, reviewer, sender, 1, 4)[0]
    waiting = submitted_campaign(drafter, sender, members(7))
    page = client_for(auditor).get(reverse("audit_campaigns"))
    rows = {c.pk: c for c in page.context["page"]}
    assert (rows[sent.pk].recipient_total, rows[sent.pk].sent, rows[sent.pk].failed) == (4, 4, 0)
    assert (rows[waiting.pk].recipient_total, rows[waiting.pk].sent) == (7, 0)


def test_campaign_pages_count_nothing_over_the_ledger(client_for, auditor, reviewer, drafter, sender, esp):
    """Only the send rate counts rows, and only those accepted in the last minute (an index range)."""
    campaign = _history(drafter, reviewer, sender, 1, 5)[0]
    for client, url in ((client_for(auditor), reverse("audit_campaign", args=[campaign.pk])),
                        (client_for(auditor), reverse("campaign_detail", args=[campaign.pk])),
                        (client_for(reviewer), reverse("campaign_progress", args=[campaign.pk]))):
        counting = [sql for sql in _queries(client, url) if LEDGER_TABLE in sql and "COUNT(" in sql.upper()
                    and '"sent_at" >=' not in sql]
        assert not counting, url


def test_ledger_pages_and_filters_still_page_through_every_row(client_for, auditor, drafter, reviewer, sender, esp):
    rows = members(130)
    esp.reject_recipients([rows[0]["メールアドレス"]])
    campaign = approved_campaign(drafter, reviewer, sender, rows)
    send_all(campaign.pk)
    client = client_for(auditor)
    url = reverse("audit_campaign", args=[campaign.pk])
    assert client.get(url).context["page"].paginator.num_pages == 2
    assert len(client.get(url + "?page=2").context["page"].object_list) == 30
    failed = client.get(url + "?status=failed").context["page"]
    assert failed.paginator.count == 1 and failed.object_list[0].status == Delivery.Status.FAILED
    found = client.get(url + "?q=member00042").context["page"]
    assert [d.email for d in found.object_list] == ["member00042@example.com"]
