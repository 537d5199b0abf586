"""Across processes: a real Celery worker sends a newsletter whose files go as links through anymail to
the fake ESP; then recipients use what they received: download (after confirming their address),
one-click unsubscribe; the drafter stops the downloads; the auditor reads the download ledger."""

import pytest
from django.test import Client
from django.urls import reverse

from approvals import recipient_links
from approvals.models import AuditEvent, Campaign, Suppression
from tests.conftest import wait_for
from tests.factories import members
from tests.links_helpers import PDF, approved_with, download_paths, unsubscribe_path

pytestmark = pytest.mark.worker


def sent(campaign_id: int) -> Campaign | None:
    campaign = Campaign.objects.get(pk=campaign_id)
    return campaign if campaign.state == Campaign.State.SENT else None


def test_worker_sends_links_and_unsubscribe_then_recipients_use_them(
        worker, esp, drafter, reviewer, auditor, sender, client_for):
    rows = members(8)
    campaign = approved_with(drafter, reviewer, sender, rows, newsletter=True)
    wait_for(lambda: sent(campaign.pk), message="the campaign to be sent")

    links = {}
    for row in rows:
        address = row["メールアドレス"]
        [message] = esp.messages_to(address)
        assert message.attachments == []
        [path] = download_paths(message.text_body)
        own = campaign.recipients.get(email=address).pk
        assert recipient_links.read_token(path.split("/")[2]).recipient_id == own
        assert message.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
        assert f"<http://127.0.0.1:8000{unsubscribe_path(message.text_body)}>" in message.header("List-Unsubscribe")
        assert "mailto:" in message.header("List-Unsubscribe")
        links[address] = (path, unsubscribe_path(message.text_body))

    first, second, third = (row["メールアドレス"] for row in rows[:3])
    recipient = Client()
    assert recipient.post(links[first][0], {"address": second}).status_code == 200  # not theirs
    response = recipient.post(links[first][0], {"address": first})
    assert b"".join(response.streaming_content) == PDF

    provider = Client(enforce_csrf_checks=True)
    assert provider.post(links[third][1], "List-Unsubscribe=One-Click",
                         content_type="application/x-www-form-urlencoded").status_code == 200
    assert Suppression.objects.get(email=third).reason == Suppression.Reason.UNSUBSCRIBED

    client_for(drafter).post(reverse("downloads_stop", args=[campaign.pk]), {"reason": "誤送信"})
    assert recipient.post(links[second][0], {"address": second}).status_code == 410

    page = client_for(auditor).get(reverse("audit_campaign", args=[campaign.pk])).content.decode()
    ledger = page[page.index('id="download-ledger"'):]
    assert ledger.count('data-outcome="downloaded"') == 1 and ledger.count('data-outcome="wrong_address"') == 1
    assert first in ledger
    actions = set(AuditEvent.objects.filter(campaign=campaign).values_list("action", flat=True))
    assert {"sending_finished", "unsubscribed", "downloads_stopped"} <= actions
