"""One-click unsubscribe (RFC 8058): the headers in every newsletter message, the POST without a
login or a page, the confirmation page, and the next campaign's preflight blocking the address."""

import pytest
from django.test import Client
from django.urls import reverse

from approvals import guards, recipient_links, workflow
from approvals.models import AuditEvent, Suppression
from tests.factories import members, send_all
from tests.links_helpers import approved_with, campaign_with, unsubscribe_path

pytestmark = pytest.mark.django_db
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def list_unsubscribe(message) -> tuple[str, str]:
    """(https path, mailto) of a List-Unsubscribe header value."""
    https, mailto = "", ""
    for target in message.header("List-Unsubscribe").split(","):
        target = target.strip().strip("<>")
        if target.startswith("mailto:"):
            mailto = target
        else:
            https = "/" + target.split("/", 3)[3]
    return https, mailto


@pytest.fixture
def newsletter(drafter, reviewer, sender, esp):
    rows = members(4)
    campaign = approved_with(drafter, reviewer, sender, rows, links=False, newsletter=True)
    send_all(campaign.pk)
    campaign.refresh_from_db()
    return campaign, rows


def test_every_newsletter_message_carries_its_own_one_click_unsubscribe(newsletter, esp):
    campaign, rows = newsletter
    seen = set()
    for row in rows:
        [message] = esp.messages_to(row["メールアドレス"])
        assert message.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
        https, mailto = list_unsubscribe(message)
        assert mailto == "mailto:koho@city.example.jp?subject=unsubscribe"
        token = recipient_links.read_token(https.split("/")[2])
        assert token.recipient_id == campaign.recipients.get(email=row["メールアドレス"]).pk
        assert unsubscribe_path(message.text_body) == https  # the same link at the foot of the text
        assert row["メールアドレス"] not in message.header("List-Unsubscribe")
        seen.add(https)
    assert len(seen) == len(rows)


def test_a_notice_carries_no_unsubscribe(drafter, reviewer, sender, esp):
    rows = members(2)
    campaign = approved_with(drafter, reviewer, sender, rows, links=False)
    send_all(campaign.pk)
    [message] = esp.messages_to(rows[0]["メールアドレス"])
    assert message.header("List-Unsubscribe") is None
    assert "/unsubscribe/" not in message.text_body


def test_the_mailto_is_the_configured_mailbox(drafter, reviewer, sender, esp, settings):
    settings.MAILGUARD = {**settings.MAILGUARD, "UNSUBSCRIBE_MAILTO": "teishi@city.example.jp"}
    rows = members(1)
    send_all(approved_with(drafter, reviewer, sender, rows, links=False, newsletter=True).pk)
    [message] = esp.messages_to(rows[0]["メールアドレス"])
    assert list_unsubscribe(message)[1] == "mailto:teishi@city.example.jp?subject=unsubscribe"


def test_the_one_click_post_suppresses_the_address_without_login_or_csrf(newsletter, esp):
    campaign, rows = newsletter
    address = rows[2]["メールアドレス"]
    [message] = esp.messages_to(address)
    https, _mailto = list_unsubscribe(message)
    provider = Client(enforce_csrf_checks=True)  # a mailbox provider: no cookies, no token, no page
    response = provider.post(https, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert Suppression.objects.get(email=address).reason == Suppression.Reason.UNSUBSCRIBED
    event = AuditEvent.objects.get(action="unsubscribed")
    assert event.campaign_id == campaign.pk and event.actor is None
    assert event.details["row"] == campaign.recipients.get(email=address).row_number
    assert address not in str(event.details)
    # Providers retry: the second POST changes nothing and records nothing.
    assert provider.post(https, "List-Unsubscribe=One-Click",
                         content_type="application/x-www-form-urlencoded").status_code == 200
    assert AuditEvent.objects.filter(action="unsubscribed").count() == 1
    assert Suppression.objects.count() == 1


def test_the_link_in_the_text_shows_a_confirmation_page_first(newsletter, esp):
    _campaign, rows = newsletter
    address = rows[0]["メールアドレス"]
    [message] = esp.messages_to(address)
    path = unsubscribe_path(message.text_body)
    page = Client(headers={"accept-language": "ja"}).get(path)
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="unsubscribe-form"' in text and "配信停止" in text
    assert address not in text
    assert "no-store" in page["Cache-Control"]
    assert not Suppression.objects.exists()
    done = Client().post(path, ONE_CLICK)
    assert done.status_code == 200 and 'id="unsubscribed"' in done.content.decode()
    assert Suppression.objects.filter(email=address).exists()


def test_the_next_campaigns_preflight_blocks_the_unsubscribed_address(newsletter, esp, drafter, sender, client_for):
    _campaign, rows = newsletter
    [message] = esp.messages_to(rows[1]["メールアドレス"])
    Client().post(list_unsubscribe(message)[0], ONE_CLICK)
    follow_up = campaign_with(drafter, sender, rows, links=False, newsletter=True, name="12月号")
    [finding] = [f for f in guards.run_preflight(follow_up) if f.code == "list.suppressed"]
    assert finding.severity == "block" and finding.rows == (follow_up.recipients.get(
        email=rows[1]["メールアドレス"]).row_number,)
    response = client_for(drafter).post(reverse("campaign_submit", args=[follow_up.pk]), follow=True)
    assert rows[1]["メールアドレス"] in response.content.decode()
    follow_up.refresh_from_db()
    assert follow_up.state == "draft"


def test_a_post_without_the_one_click_body_changes_nothing(newsletter, esp):
    """Link checkers that POST what they find must not unsubscribe anyone (RFC 8058 names the body)."""
    _campaign, rows = newsletter
    [message] = esp.messages_to(rows[0]["メールアドレス"])
    assert Client().post(list_unsubscribe(message)[0]).status_code == 400
    assert not Suppression.objects.exists()


def test_an_address_already_suppressed_keeps_its_reason(newsletter, esp):
    _campaign, rows = newsletter
    Suppression.objects.create(email=rows[0]["メールアドレス"], reason=Suppression.Reason.BOUNCED)
    [message] = esp.messages_to(rows[0]["メールアドレス"])
    assert Client().post(list_unsubscribe(message)[0], ONE_CLICK).status_code == 200
    assert Suppression.objects.get().reason == Suppression.Reason.BOUNCED
    assert not AuditEvent.objects.filter(action="unsubscribed").exists()


def test_a_proof_copys_unsubscribe_changes_nothing(drafter, sender, esp, client_for):
    campaign = campaign_with(drafter, sender, members(2), links=False, newsletter=True)
    client_for(drafter).post(reverse("proof_send", args=[campaign.pk]), {"row": "2"})
    [proof] = esp.messages_to(drafter.email)
    response = Client(headers={"accept-language": "en"}).post(unsubscribe_path(proof.text_body), ONE_CLICK)
    assert response.status_code == 403 and "proof copy" in response.content.decode()
    assert not Suppression.objects.exists()


def test_an_altered_token_and_a_purged_row_change_nothing(newsletter, esp):
    campaign, rows = newsletter
    [message] = esp.messages_to(rows[0]["メールアドレス"])
    path = unsubscribe_path(message.text_body)
    assert Client().post(path[:-3] + "xx/", ONE_CLICK).status_code == 404
    campaign.recipients.update(email="purged")
    assert Client().post(path, ONE_CLICK).status_code == 410
    assert not Suppression.objects.exists()


def test_the_reviewer_sees_the_unsubscribe_headers_in_the_preview(drafter, reviewer, sender, client_for):
    campaign = campaign_with(drafter, sender, members(2), links=False, newsletter=True)
    workflow.submit(campaign, drafter)
    page = client_for(reviewer).get(reverse("review", args=[campaign.pk])).content.decode()
    assert "List-Unsubscribe-Post" in page and "List-Unsubscribe=One-Click" in page
    assert "Newsletter: recipients can unsubscribe with one click" in page
