"""The incident report: the facts an APPI report asks for, as a page, CSV and JSON."""

import csv
import io
import json

import pytest
from django.urls import reverse

from approvals import reports
from approvals.models import Campaign
from tests.auditor.conftest import SENSITIVE_CODE
from tests.factories import approved_campaign, members, send_all

BODY = "{{氏名}} 様\n会員番号 {{会員番号}} の皆様へ。"


def _rows():
    """Three people at two domains; the list also carries an address column the message never uses."""
    rows = members(2, "example.com") + members(1, "city.example.jp")
    rows[2]["メールアドレス"] = "member00002@city.example.jp"
    for i, row in enumerate(rows):
        row["住所"] = f"東京都千代田区{i}"
    return rows


@pytest.fixture
def incident(drafter, reviewer, sender, esp, sensitive_check):
    rows = _rows()
    esp.reject_recipients([rows[1]["メールアドレス"]])
    campaign = approved_campaign(drafter, reviewer, sender, rows, body=BODY)
    send_all(campaign.pk)
    campaign.refresh_from_db()
    return campaign


def test_report_counts_the_persons_affected_and_their_domains(incident):
    persons = reports.incident_report(incident)["persons"]
    assert (persons["recipients"], persons["distinct_addresses"], persons["domain_count"]) == (3, 3, 2)
    assert persons["domains"] == [{"domain": "example.com", "addresses": 2},
                                  {"domain": "city.example.jp", "addresses": 1}]
    assert persons["over_reporting_threshold"] is False and persons["purged"] is False


def test_report_says_which_columns_were_stored_and_which_the_message_used(incident):
    data = reports.incident_report(incident)["personal_data"]
    assert data["stored_columns"] == ["氏名", "メールアドレス", "会員番号", "住所"]
    assert data["uploaded_columns"] == data["stored_columns"]
    assert data["used_in_message"] == ["氏名", "会員番号"]
    assert (data["address_column"], data["name_column"]) == ("メールアドレス", "氏名")
    assert data["not_used"] == ["住所"]


def test_report_lists_sensitive_findings_and_whether_they_were_acknowledged(incident):
    sensitive = reports.incident_report(incident)["sensitive"]
    assert sensitive["flagged"] is True
    [finding] = sensitive["findings"]
    assert (finding["code"], finding["severity"], finding["rows"], finding["acknowledged"]) == (
        SENSITIVE_CODE, "acknowledge", 1, True)


def test_report_without_sensitive_findings_says_so(drafter, reviewer, sender):
    campaign = approved_campaign(drafter, reviewer, sender, members(2))
    assert reports.incident_report(campaign)["sensitive"] == {"flagged": False, "findings": []}


def test_report_names_the_approver_the_hash_and_the_delivery_outcome(incident, reviewer):
    report = reports.incident_report(incident)
    assert report["approval"]["approved_by"] == "reviewer"
    assert report["approval"]["approved_hash"] == incident.approved_hash
    assert report["campaign"]["drafter"] == "drafter"
    counts = report["deliveries"]["counts"]
    assert (counts["sent"], counts["failed"], report["deliveries"]["total"]) == (2, 1, 3)
    assert report["deliveries"]["last_sent_at"].endswith("Z")


def test_report_timeline_runs_from_drafting_to_the_last_delivery_in_utc(incident):
    timeline = reports.incident_report(incident)["timeline"]
    actions = [row["action"] for row in timeline]
    assert actions[0] == "created"
    for action in ("submitted", "approved", "sending_started", "sending_finished", "last_message_accepted"):
        assert action in actions
    assert actions.index("approved") < actions.index("sending_started") < actions.index("last_message_accepted")
    assert all(row["time"].endswith("Z") for row in timeline)
    assert [row["time"] for row in timeline] == sorted(row["time"] for row in timeline)
    approved = next(row for row in timeline if row["action"] == "approved")
    assert approved["actor"] == "reviewer" and approved["content_hash"] == incident.approved_hash


def test_report_page_shows_the_facts(client_for, auditor, incident):
    response = client_for(auditor).get(reverse("audit_incident_report", args=[incident.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="report-distinct">3<' in html and incident.approved_hash in html
    assert f'data-code="{SENSITIVE_CODE}"' in html and 'data-flagged="true"' in html
    assert reverse("audit_incident_report_csv", args=[incident.pk]) in html


def test_report_downloads_as_json_with_the_same_facts(client_for, auditor, incident):
    response = client_for(auditor).get(reverse("audit_incident_report_json", args=[incident.pk]))
    assert response["Content-Disposition"].startswith("attachment")
    data = json.loads(response.content.decode("utf-8"))
    assert data["persons"]["distinct_addresses"] == 3
    assert data["approval"]["approved_hash"] == incident.approved_hash
    assert data["personal_data"]["used_in_message"] == ["氏名", "会員番号"]


def test_report_downloads_as_csv_for_excel_with_formulas_neutralised(client_for, auditor, incident):
    Campaign.objects.filter(pk=incident.pk).update(name="=HYPERLINK(\"http://x\")")
    response = client_for(auditor).get(reverse("audit_incident_report_csv", args=[incident.pk]))
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff") and response["Content-Disposition"].startswith("attachment")
    cells = [cell for row in csv.reader(io.StringIO(text[1:])) for cell in row]
    assert incident.approved_hash in cells and "reviewer" in cells and SENSITIVE_CODE in cells
    assert "'=HYPERLINK(\"http://x\")" in cells and "=HYPERLINK(\"http://x\")" not in cells


def test_more_than_a_thousand_distinct_addresses_crosses_the_reporting_threshold(drafter, reviewer, sender):
    campaign = approved_campaign(drafter, reviewer, sender, members(1001))
    assert reports.incident_report(campaign)["persons"]["over_reporting_threshold"] is True


def test_report_timeline_reads_in_words_with_the_codes_kept_for_machines(client_for, auditor, incident):
    page = client_for(auditor).get(reverse("audit_incident_report", args=[incident.pk])).content.decode()
    timeline = page[page.index('id="report-timeline"'):]
    assert "Recipient list uploaded" in timeline and "First message accepted by the ESP" in timeline
    assert ">list_uploaded<" not in timeline and 'data-action="list_uploaded"' in timeline
    response = client_for(auditor).get(reverse("audit_incident_report_csv", args=[incident.pk]))
    text = b"".join(response.streaming_content).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text[1:])))
    uploaded = next(row for row in rows if row and row[-1] == "list_uploaded")
    assert uploaded[2] == "Recipient list uploaded" and "members.csv" in uploaded[3]
