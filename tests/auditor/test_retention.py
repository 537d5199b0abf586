"""purge_personal_data: old finished campaigns lose their personal data, keep their counts and audit chain."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from approvals import audit, reports
from approvals.models import AuditEvent, Campaign, Delivery, Recipient
from tests.factories import approved_campaign, draft_campaign, members, send_all


def _finished_days_ago(campaign, days):
    Campaign.objects.filter(pk=campaign.pk).update(finished_at=timezone.now() - timedelta(days=days))


def _purge(*args) -> str:
    out = StringIO()
    call_command("purge_personal_data", *args, stdout=out, stderr=out)
    return out.getvalue()


@pytest.fixture
def old_sent(drafter, reviewer, sender, esp):
    rows = members(4)
    esp.reject_recipients([rows[3]["メールアドレス"]])
    campaign = approved_campaign(drafter, reviewer, sender, rows, name="old")
    send_all(campaign.pk)
    _finished_days_ago(campaign, 400)
    campaign.refresh_from_db()
    return campaign, rows


def test_purge_replaces_personal_data_and_keeps_every_count(old_sent):
    campaign, rows = old_sent
    statuses = sorted(campaign.deliveries.values_list("status", flat=True))
    # Some ESPs quote the address in their answer.
    campaign.deliveries.filter(status=Delivery.Status.FAILED).update(
        error=f"550 5.1.1 <{rows[3]['メールアドレス']}>: user unknown", tracking_detail=rows[3]["メールアドレス"])
    _purge("--older-than-days", "365")
    assert campaign.recipients.count() == 4 and campaign.deliveries.count() == 4
    assert set(campaign.recipients.values_list("email", flat=True)) == {"purged"}
    assert set(campaign.recipients.values_list("display_name", flat=True)) == {"purged"}
    for data in campaign.recipients.values_list("data", flat=True):
        assert data == {column: "purged" for column in campaign.columns}
    assert set(campaign.deliveries.values_list("email", flat=True)) == {"purged"}
    assert sorted(campaign.deliveries.values_list("status", flat=True)) == statuses
    texts = " ".join(e + t for e, t in campaign.deliveries.values_list("error", "tracking_detail"))
    assert not any(row["メールアドレス"] in texts for row in rows)
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.PARTLY_FAILED


def test_purge_records_its_counts_in_the_audit_log_and_the_chain_still_verifies(old_sent):
    campaign, _rows = old_sent
    _purge("--older-than-days", "365")
    event = campaign.events.get(action="personal_data_purged")
    assert event.actor is None and event.actor_name == "system"
    assert (event.details["recipients"], event.details["deliveries"], event.details["distinct_addresses"],
            event.details["domains"]) == (4, 4, 4, 1)
    state = audit.verify_chain()
    assert state.ok and state.checked == AuditEvent.objects.count()


def test_audit_events_never_held_the_recipients_addresses(old_sent):
    _campaign, rows = old_sent
    _purge("--older-than-days", "365")
    logged = json.dumps(list(AuditEvent.objects.values_list("details", flat=True)), ensure_ascii=False)
    assert not any(row["メールアドレス"] in logged or row["氏名"] in logged for row in rows)


def test_purge_is_idempotent(old_sent):
    campaign, _rows = old_sent
    first = _purge("--older-than-days", "365")
    events = AuditEvent.objects.count()
    second = _purge("--older-than-days", "365")
    assert "purged 1 campaigns" in first and "purged 0 campaigns" in second
    assert AuditEvent.objects.count() == events
    assert campaign.events.filter(action="personal_data_purged").count() == 1
    assert audit.verify_chain().ok


def test_purge_leaves_recent_and_unfinished_campaigns_alone(old_sent, drafter, reviewer, sender):
    recent = approved_campaign(drafter, reviewer, sender, members(2, "recent.example"), name="recent")
    Campaign.objects.filter(pk=recent.pk).update(state=Campaign.State.SENT, finished_at=timezone.now())
    waiting = approved_campaign(drafter, reviewer, sender, members(2, "waiting.example"), name="waiting")
    draft = draft_campaign(drafter, sender, members(2, "draft.example"), name="draft")
    old = timezone.now() - timedelta(days=1000)
    Campaign.objects.filter(pk__in=[waiting.pk, draft.pk]).update(updated_at=old, created_at=old)
    _purge("--older-than-days", "365")
    for campaign in (recent, waiting, draft):
        assert "purged" not in set(campaign.recipients.values_list("email", flat=True))
        assert not campaign.events.filter(action="personal_data_purged").exists()


def test_purge_defaults_to_the_retention_days_setting(old_sent, settings):
    campaign, _rows = old_sent
    settings.MAILGUARD = {**settings.MAILGUARD, "RETENTION_DAYS": 500}
    _purge()
    assert not campaign.events.filter(action="personal_data_purged").exists()
    settings.MAILGUARD = {**settings.MAILGUARD, "RETENTION_DAYS": 300}
    _purge()
    assert campaign.events.filter(action="personal_data_purged").exists()


def test_dry_run_changes_nothing(old_sent):
    campaign, rows = old_sent
    output = _purge("--older-than-days", "365", "--dry-run")
    assert f"would purge campaign {campaign.pk}" in output
    assert Recipient.objects.filter(email=rows[0]["メールアドレス"]).exists()
    assert not campaign.events.filter(action="personal_data_purged").exists()


def test_a_campaign_with_deliveries_in_doubt_waits_for_a_person(old_sent):
    campaign, _rows = old_sent
    campaign.deliveries.filter(status=Delivery.Status.FAILED).update(status=Delivery.Status.IN_DOUBT)
    output = _purge("--older-than-days", "365")
    assert f"campaign {campaign.pk} skipped" in output
    assert not campaign.events.filter(action="personal_data_purged").exists()


def test_a_cancelled_campaign_is_purged_too(drafter, reviewer, sender):
    from approvals import workflow

    campaign = approved_campaign(drafter, reviewer, sender, members(2))
    workflow.cancel(campaign, reviewer, "wrong list")
    _finished_days_ago(campaign, 400)
    _purge("--older-than-days", "365")
    assert set(campaign.recipients.values_list("email", flat=True)) == {"purged"}
    assert set(campaign.deliveries.values_list("status", flat=True)) == {Delivery.Status.CANCELLED}


def test_quoted_list_values_in_stored_findings_are_blanked(old_sent):
    campaign, rows = old_sent
    name = rows[1]["氏名"]
    findings = [*campaign.findings, {"code": "message.list_data_in_text", "severity": "acknowledge",
                                     "message": f"The text mentions {name} ({rows[1]['メールアドレス']}).",
                                     "rows": [3], "files": [], "key": "k"}]
    Campaign.objects.filter(pk=campaign.pk).update(findings=findings)
    _purge("--older-than-days", "365")
    campaign.refresh_from_db()
    message = campaign.findings[-1]["message"]
    assert name not in message and rows[1]["メールアドレス"] not in message and "purged" in message


def test_incident_report_after_purge_uses_the_recorded_counts(old_sent):
    campaign, _rows = old_sent
    _purge("--older-than-days", "365")
    persons = reports.incident_report(campaign)["persons"]
    assert (persons["recipients"], persons["distinct_addresses"], persons["domain_count"]) == (4, 4, 1)
    assert persons["purged"] and persons["purged_at"].endswith("Z")
    assert reports.incident_report(campaign)["deliveries"]["counts"]["sent"] == 3


def test_approved_version_after_purge_says_the_data_was_purged_not_tampered(old_sent, client_for, auditor):
    from django.urls import reverse

    campaign, _rows = old_sent
    _purge("--older-than-days", "365")
    response = client_for(auditor).get(reverse("audit_approved_version", args=[campaign.pk]))
    assert 'data-match="purged"' in response.content.decode()
    assert campaign.approved_hash in response.content.decode()


def test_the_retention_module_does_the_work_and_reports_it(old_sent, drafter, reviewer, sender, esp):
    """The command only prints what ``approvals.retention.purge_due`` did."""
    from approvals import retention

    campaign, _rows = old_sent
    doubtful = approved_campaign(drafter, reviewer, sender, members(2), name="doubtful")
    send_all(doubtful.pk)
    doubtful.deliveries.update(status=Delivery.Status.IN_DOUBT)
    _finished_days_ago(doubtful, 400)
    dry = retention.purge_due(365, dry_run=True)
    assert dry.would_purge == [(campaign.pk, 4)] and dry.skipped == [(doubtful.pk, 2)] and not dry.purged
    run = retention.purge_due(365)
    assert [r.campaign_id for r in run.purged] == [campaign.pk] and run.skipped == [(doubtful.pk, 2)]
    assert retention.purge_due(365).purged == []  # already purged: nothing more to do
    with pytest.raises(ValueError):
        retention.purge_due(-1)
