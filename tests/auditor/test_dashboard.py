"""The dashboard's charts: inline SVG whose bars carry the real counts."""

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from approvals import charts
from approvals.delivery import ledger
from approvals.models import Campaign, Delivery
from tests.factories import approved_campaign, draft_campaign, members, send_all

SVG = "{http://www.w3.org/2000/svg}"


def _svg(html: str, chart: str) -> ET.Element:
    match = re.search(rf'<svg [^>]*data-chart="{chart}".*?</svg>', html, re.DOTALL)
    assert match, f"no {chart} chart"
    return ET.fromstring(match.group())


def _bars(svg: ET.Element, series: str) -> dict[str, int]:
    return {rect.get("data-category"): int(rect.get("data-value"))
            for rect in svg.iter(f"{SVG}rect") if rect.get("data-series") == series}


def _sent_and_failed(drafter, reviewer, sender, esp):
    """Four accepted and one refused today; then two of the accepted moved to three days ago.

    Moving rows in time goes behind the ledger's back, so its per-day counters are recounted
    (``ledger.rebuild_counts``), as after any such repair.
    """
    rows = members(5)
    esp.reject_recipients([rows[4]["メールアドレス"]])
    campaign = approved_campaign(drafter, reviewer, sender, rows)
    send_all(campaign.pk)
    earlier = timezone.now() - timedelta(days=3)
    moved = list(campaign.deliveries.filter(status=Delivery.Status.SENT).values_list("pk", flat=True)[:2])
    Delivery.objects.filter(pk__in=moved).update(sent_at=earlier)
    assert ledger.rebuild_counts([campaign.pk]) == [campaign.pk]
    return campaign, timezone.localdate(), timezone.localdate(earlier)


def test_daily_chart_has_a_bar_per_day_with_the_sent_and_failed_counts(
        client_for, auditor, drafter, reviewer, sender, esp):
    _campaign, today, earlier = _sent_and_failed(drafter, reviewer, sender, esp)
    html = client_for(auditor).get(reverse("audit_dashboard")).content.decode()
    svg = _svg(html, "daily-deliveries")
    sent, failed = _bars(svg, "sent"), _bars(svg, "failed")
    days = [(today - timedelta(days=n)).isoformat() for n in range(29, -1, -1)]
    assert list(sent) == days and list(failed) == days
    assert sent[today.isoformat()] == 2 and sent[earlier.isoformat()] == 2
    assert failed[today.isoformat()] == 1
    assert sum(sent.values()) == 4 and sum(failed.values()) == 1


def test_daily_numbers_count_by_the_day_in_the_site_time_zone(drafter, reviewer, sender, esp):
    _campaign, today, earlier = _sent_and_failed(drafter, reviewer, sender, esp)
    by_day = {d.day: (d.sent, d.failed) for d in charts.daily_deliveries(30)}
    assert len(by_day) == 30
    assert by_day[today] == (2, 1) and by_day[earlier] == (2, 0)


def test_deliveries_older_than_thirty_days_are_not_drawn(drafter, reviewer, sender, esp):
    campaign = approved_campaign(drafter, reviewer, sender, members(2))
    send_all(campaign.pk)
    campaign.deliveries.update(sent_at=timezone.now() - timedelta(days=31))
    ledger.rebuild_counts([campaign.pk])
    assert sum(d.sent for d in charts.daily_deliveries(30)) == 0


def test_campaigns_per_state_has_a_bar_per_state(client_for, auditor, drafter, reviewer, sender):
    approved_campaign(drafter, reviewer, sender, members(1))
    draft_campaign(drafter, sender, members(1))
    draft_campaign(drafter, sender, members(1))
    html = client_for(auditor).get(reverse("audit_dashboard")).content.decode()
    bars = _bars(_svg(html, "campaign-states"), "campaign-states")
    assert list(bars) == list(Campaign.State.values)
    assert bars["draft"] == 2 and bars["approved"] == 1 and bars["sent"] == 0


def test_bounce_rate_is_failed_over_sent_plus_failed(client_for, auditor, drafter, reviewer, sender, esp):
    _sent_and_failed(drafter, reviewer, sender, esp)
    rate = charts.bounce_rate()
    assert (rate.sent, rate.failed, rate.rate) == (4, 1, 0.2)
    response = client_for(auditor).get(reverse("audit_dashboard"))
    html = response.content.decode()
    bars = _bars(_svg(html, "bounce-rate"), "failed")
    assert bars == {None: 1}
    assert response.context["bounce_recent"].percent == "20.0 %"


def test_bounce_rate_without_any_messages_is_a_dash():
    assert charts.BounceRate(0, 0).rate is None and charts.BounceRate(0, 0).percent == "—"


def test_chart_labels_are_escaped_and_the_svg_is_well_formed():
    svg = charts.grouped_bar_chart(["a"], ["<b>&"], [charts.Series("s", "\"x'", "#000", [3])],
                                   title="<script>", chart="t")
    root = ET.fromstring(str(svg))
    assert "<script>" not in str(svg) and root.find(f"{SVG}title").text == "<script>"
    assert " style=" not in str(svg)
