"""Sessions end after 30 minutes idle and 12 hours in all; personal data is never cached; a subject
with a line break is refused and the proof view never answers 500 (issue 9, finding 6)."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from approvals import workflow
from approvals.middleware import LAST_ACTIVITY, STARTED
from approvals.models import Campaign
from tests.factories import approve_after_review, draft_campaign, members, submitted_campaign

from .conftest import fresh_environment

ROOT = Path(__file__).resolve().parents[2]


def age_session(client, *, started_ago: float, active_ago: float) -> None:
    session = client.session
    now = time.time()
    session[STARTED], session[LAST_ACTIVITY] = now - started_ago, now - active_ago
    session.save()


def signed_in(client_for, user):
    client = client_for(user)
    assert client.get(reverse("campaign_list")).status_code == 200  # the session's clock starts
    return client


# --- Session limits ----------------------------------------------------------------------------------


def test_the_defaults_are_30_minutes_idle_and_12_hours_in_all():
    assert settings.SESSION_IDLE_SECONDS == 30 * 60
    assert settings.SESSION_MAX_SECONDS == 12 * 60 * 60
    assert settings.SESSION_COOKIE_AGE <= 12 * 60 * 60


def test_a_session_idle_for_more_than_30_minutes_is_signed_out(drafter, client_for):
    client = signed_in(client_for, drafter)
    age_session(client, started_ago=31 * 60, active_ago=31 * 60)
    response = client.get(reverse("campaign_list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert client.get(reverse("campaign_list")).status_code == 302  # and stays signed out


def test_an_active_session_lasts_beyond_30_minutes(drafter, client_for):
    client = signed_in(client_for, drafter)
    age_session(client, started_ago=3 * 3600, active_ago=10 * 60)
    assert client.get(reverse("campaign_list")).status_code == 200


def test_a_session_ends_after_12_hours_however_active(drafter, client_for):
    client = signed_in(client_for, drafter)
    age_session(client, started_ago=12 * 3600 + 60, active_ago=5)
    response = client.get(reverse("campaign_list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_polling_page_keeps_no_session_alive(drafter, reviewer, sender, client_for):
    campaign = approve_after_review(submitted_campaign(drafter, sender, members(2)), reviewer)
    client = signed_in(client_for, drafter)
    age_session(client, started_ago=25 * 60, active_ago=25 * 60)
    assert client.get(reverse("campaign_progress", args=[campaign.pk])).status_code == 200
    assert client.session[LAST_ACTIVITY] < time.time() - 24 * 60  # the poll was not activity
    age_session(client, started_ago=31 * 60, active_ago=31 * 60)
    assert client.get(reverse("campaign_progress", args=[campaign.pk])).status_code == 302


def test_a_signed_out_reviewer_cannot_approve(drafter, reviewer, sender, client_for):
    campaign = submitted_campaign(drafter, sender, members(2))
    client = client_for(reviewer)
    client.get(reverse("review", args=[campaign.pk]))
    age_session(client, started_ago=40 * 60, active_ago=40 * 60)
    response = client.post(reverse("approve", args=[campaign.pk]), {"content_hash": campaign.submitted_hash})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.IN_REVIEW


def test_the_limits_come_from_the_environment():
    code = ("import json, django; django.setup(); from django.conf import settings as s; "
            "print(json.dumps([s.SESSION_IDLE_SECONDS, s.SESSION_MAX_SECONDS, s.SESSION_COOKIE_AGE]))")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env=fresh_environment(MAILGUARD_SESSION_IDLE_SECONDS="600", MAILGUARD_SESSION_MAX_SECONDS="3600"))
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [600, 3600, 3600], result.stderr


# --- Cache-Control: no-store -------------------------------------------------------------------------


@pytest.fixture
def sent_campaign(drafter, reviewer, sender, esp):
    from tests.factories import send_all

    campaign = approve_after_review(submitted_campaign(drafter, sender, members(3)), reviewer)
    send_all(campaign.pk)
    return campaign


def test_review_campaign_and_ledger_pages_are_never_stored(drafter, reviewer, auditor, sender, client_for):
    in_review = submitted_campaign(drafter, sender, members(3))
    pages = [
        (reviewer, reverse("review", args=[in_review.pk])),
        (reviewer, reverse("review_queue")),
        (drafter, reverse("campaign_detail", args=[in_review.pk])),
        (drafter, reverse("campaign_list")),
        (auditor, reverse("audit_campaign", args=[in_review.pk])),
        (auditor, reverse("audit_deliveries_csv", args=[in_review.pk])),
        (auditor, reverse("audit_address") + "?email=member00001@example.com"),
    ]
    for user, url in pages:
        response = client_for(user).get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url
        assert "private" in response["Cache-Control"], url


def test_the_edit_page_is_never_stored(drafter, sender, client_for):
    campaign = draft_campaign(drafter, sender, members(2))
    response = client_for(drafter).get(reverse("campaign_edit", args=[campaign.pk]))
    assert "no-store" in response["Cache-Control"]


def test_deliveries_csv_is_never_stored(sent_campaign, auditor, client_for):
    response = client_for(auditor).get(reverse("audit_deliveries_csv", args=[sent_campaign.pk]))
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert b"member00001@example.com" in b"".join(response.streaming_content)


# --- A subject with a line break -----------------------------------------------------------------------


def test_a_subject_template_with_a_line_break_is_refused_at_preflight_through_the_page(drafter, sender, client_for):
    campaign = draft_campaign(drafter, sender, members(2), subject="{{氏名}} 様\r\nBcc: evil@example.org")
    client = client_for(drafter)
    page = client.get(reverse("campaign_edit", args=[campaign.pk]))
    assert "message.subject_line_break" in {f["code"] for f in page.context["findings"]}
    response = client.post(reverse("campaign_submit", args=[campaign.pk]), follow=True)
    assert response.status_code == 200
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.DRAFT


def test_the_proof_of_a_subject_with_a_line_break_is_a_message_never_a_500(drafter, sender, client_for, esp):
    campaign = draft_campaign(drafter, sender, members(2), subject="{{氏名}} 様\nBcc: evil@example.org")
    response = client_for(drafter).post(reverse("proof_send", args=[campaign.pk]), {"row": "2"}, follow=True)
    assert response.status_code == 200
    assert any("line break" in str(m) for m in response.context["messages"])
    assert not esp.messages()
    with pytest.raises(workflow.WorkflowError):
        workflow.send_proof(campaign, drafter, campaign.recipients.first())
