"""CSV exports for Excel: streamed in chunks, a BOM first, formulas neutralised, never cached."""

import csv
import io

import pytest
from django.urls import reverse

from approvals import exports
from approvals.models import Delivery
from tests.factories import approved_campaign, members, send_all


def _read(response) -> tuple[list[str], str]:
    assert response.streaming, "an export must stream, not be built in memory"
    chunks = [chunk.decode("utf-8") for chunk in response.streaming_content]
    return chunks, "".join(chunks)


@pytest.mark.parametrize("value", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx", "\nx"])
def test_every_formula_start_is_neutralised(value):
    assert exports.neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["member@example.jp", "送信済み", "", None, 3, "a=b"])
def test_ordinary_values_are_left_as_they_are(value):
    assert exports.neutralise(value) == ("" if value is None else str(value))


def test_ledger_export_streams_in_chunks_with_one_row_per_delivery(client_for, auditor, drafter, reviewer,
                                                                    sender, esp):
    rows = members(exports.ROWS_PER_CHUNK * 2 + 30)
    campaign = approved_campaign(drafter, reviewer, sender, rows)
    send_all(campaign.pk)
    response = client_for(auditor).get(reverse("audit_deliveries_csv", args=[campaign.pk]))
    chunks, text = _read(response)
    assert chunks[0] == exports.BOM and len(chunks) >= 4  # BOM, then ROWS_PER_CHUNK lines at a time
    table = list(csv.reader(io.StringIO(text[1:])))
    assert table[0][:2] == ["Address", "Status"]
    assert [row[0] for row in table[1:]] == [r["メールアドレス"] for r in rows]
    assert {row[1] for row in table[1:]} == {"Accepted by the ESP"}
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="campaign-{campaign.pk}-deliveries.csv"'
    assert "no-store" in response["Cache-Control"] and response["X-Content-Type-Options"] == "nosniff"


def test_ledger_export_neutralises_formulas_in_every_column(client_for, auditor, drafter, reviewer, sender):
    campaign = approved_campaign(drafter, reviewer, sender, members(1))
    Delivery.objects.filter(campaign=campaign).update(
        email="=cmd|'/C calc'!A0", esp_message_id="+1", error="@SUM(1)")
    _chunks, text = _read(client_for(auditor).get(reverse("audit_deliveries_csv", args=[campaign.pk])))
    row = list(csv.reader(io.StringIO(text[1:])))[1]
    assert row[0] == "'=cmd|'/C calc'!A0" and row[2] == "'+1" and row[3] == "'@SUM(1)"


def test_ledger_export_headers_follow_the_readers_language(client_for, auditor, drafter, reviewer, sender, esp):
    campaign = approved_campaign(drafter, reviewer, sender, members(1))
    send_all(campaign.pk)
    client = client_for(auditor)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "ja"
    _chunks, text = _read(client.get(reverse("audit_deliveries_csv", args=[campaign.pk])))
    header, row = list(csv.reader(io.StringIO(text[1:])))[:2]
    assert header[0] == "アドレス" and row[1] == "ESP 受付済み"


def test_incident_report_csv_streams_too(client_for, auditor, drafter, reviewer, sender, esp):
    campaign = approved_campaign(drafter, reviewer, sender, members(3))
    send_all(campaign.pk)
    response = client_for(auditor).get(reverse("audit_incident_report_csv", args=[campaign.pk]))
    chunks, text = _read(response)
    assert chunks[0] == exports.BOM and "no-store" in response["Cache-Control"]
    assert "Persons affected" in text and campaign.approved_hash in text


def test_ledger_export_writes_times_in_utc_like_every_other_export(client_for, auditor, drafter, reviewer,
                                                                   sender, esp):
    from approvals import reports

    campaign = approved_campaign(drafter, reviewer, sender, members(2))
    send_all(campaign.pk)
    _chunks, text = _read(client_for(auditor).get(reverse("audit_deliveries_csv", args=[campaign.pk])))
    header, *rows = list(csv.reader(io.StringIO(text[1:])))
    assert header[5] == "Sent at (UTC)"
    sent = dict(campaign.deliveries.values_list("email", "sent_at"))
    assert {row[0]: row[5] for row in rows} == {email: reports.utc(at) for email, at in sent.items()}
