"""Files sent as per-recipient download links: what the messages carry, the confirm-then-download page,
the ledger, expiry, the throttle, "stop all downloads", proofs and the retention purge.

Messages go through the real engine, anymail and the fake ESP (inline, ``send_all``); the worker
process and the browser run the same flow in test_links_worker.py and tests/browser/.
"""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from approvals import recipient_links, workflow
from approvals.content_hash import compute_content_hash
from approvals.models import AuditEvent, Campaign, Delivery, Download
from tests.factories import members, send_all
from tests.links_helpers import PDF, approved_with, campaign_with, download_paths

pytestmark = pytest.mark.django_db


def anonymous() -> Client:
    return Client(headers={"accept-language": "en"})


@pytest.fixture
def sent(drafter, reviewer, sender, esp):
    """Three members, a PDF sent as links, all messages accepted by the fake ESP."""
    rows = members(3)
    campaign = approved_with(drafter, reviewer, sender, rows)
    send_all(campaign.pk)
    campaign.refresh_from_db()
    return campaign, rows


def link_of(esp, address: str) -> str:
    [message] = esp.messages_to(address)
    [path] = download_paths(message.text_body)
    return path


# --- What leaves ---------------------------------------------------------------------------------


def test_each_message_carries_its_own_link_and_no_attachment(sent, esp):
    campaign, rows = sent
    seen = set()
    for row in rows:
        [message] = esp.messages_to(row["メールアドレス"])
        assert message.attachments == []
        [path] = download_paths(message.text_body)
        token = recipient_links.read_token(path.split("/")[2])
        recipient = campaign.recipients.get(email=row["メールアドレス"])
        assert (token.recipient_id, token.attachment_id) == (recipient.pk, campaign.attachments.get().pk)
        assert "kaiho-11.pdf" in message.text_body
        assert row["メールアドレス"] not in path  # the link never carries the address
        seen.add(path)
    assert len(seen) == 3


def test_the_reviewer_sees_the_very_link_that_leaves(drafter, reviewer, sender, esp, client_for):
    rows = members(2)
    campaign = campaign_with(drafter, sender, rows)
    workflow.submit(campaign, drafter)
    page = client_for(reviewer).get(reverse("review", args=[campaign.pk]) + "?page=1").content.decode()
    [previewed] = download_paths(page)
    assert "Send each recipient their own download links" in page
    campaign.refresh_from_db()
    from tests.factories import approve_after_review

    approve_after_review(campaign, reviewer)
    send_all(campaign.pk)
    assert link_of(esp, rows[0]["メールアドレス"]) == previewed


def test_attach_mode_still_attaches_and_carries_no_link(drafter, reviewer, sender, esp):
    rows = members(2)
    campaign = approved_with(drafter, reviewer, sender, rows, links=False)
    send_all(campaign.pk)
    [message] = esp.messages_to(rows[0]["メールアドレス"])
    assert [a.content for a in message.attachments] == [PDF]
    assert download_paths(message.text_body) == []


def test_changing_how_files_travel_changes_the_content_hash(drafter, sender):
    campaign = campaign_with(drafter, sender, members(2), links=False)
    attached = compute_content_hash(campaign)
    workflow.update_message(campaign, drafter, attachment_delivery="links")
    assert compute_content_hash(campaign) != attached
    workflow.update_message(campaign, drafter, kind="newsletter")
    assert len({attached, compute_content_hash(campaign)}) == 2


def test_a_choice_changed_behind_the_reviewers_back_is_refused_at_approval_and_at_sending(
        drafter, reviewer, sender, esp):
    from approvals.delivery import engine
    from tests.factories import review_everything

    campaign = campaign_with(drafter, sender, members(2))
    workflow.submit(campaign, drafter)
    campaign.refresh_from_db()
    seen = campaign.submitted_hash
    keys = review_everything(campaign, reviewer)
    Campaign.objects.filter(pk=campaign.pk).update(attachment_delivery="attach")
    with pytest.raises(workflow.WorkflowError):
        workflow.approve(Campaign.objects.get(pk=campaign.pk), reviewer, seen, acknowledged=keys)

    Campaign.objects.filter(pk=campaign.pk).update(attachment_delivery="links")
    workflow.approve(Campaign.objects.get(pk=campaign.pk), reviewer, seen, acknowledged=keys)
    Campaign.objects.filter(pk=campaign.pk).update(kind="newsletter")
    assert not engine.start(campaign.pk)
    assert Campaign.objects.get(pk=campaign.pk).state == Campaign.State.CANCELLED
    assert esp.messages() == []


# --- The download page -------------------------------------------------------------------------------


def test_the_recipient_confirms_their_address_then_downloads(sent, esp):
    campaign, rows = sent
    address = rows[1]["メールアドレス"]
    path = link_of(esp, address)
    client = anonymous()
    page = client.get(path)
    assert page.status_code == 200
    text = page.content.decode()
    assert "kaiho-11.pdf" in text and address not in text
    assert "no-store" in page["Cache-Control"]

    wrong = client.post(path, {"address": rows[0]["メールアドレス"]})
    assert wrong.status_code == 200
    assert "not the address the message was sent to" in wrong.content.decode()
    assert rows[0]["メールアドレス"] not in wrong.content.decode()  # what was typed is not echoed

    # Compared in a normal form: full-width letters, capitals and spaces are the same address.
    typed = " " + address.upper().replace("M", "Ｍ") + " "
    response = client.post(path, {"address": typed})
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "kaiho-11.pdf" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]

    delivery = Delivery.objects.get(campaign=campaign, email=address)
    assert list(delivery.downloads.order_by("id").values_list("outcome", flat=True)) == [
        Download.Outcome.WRONG_ADDRESS, Download.Outcome.DOWNLOADED]


def test_the_auditor_sees_who_downloaded_what_and_when(sent, esp, auditor, client_for):
    campaign, rows = sent
    path = link_of(esp, rows[2]["メールアドレス"])
    anonymous().post(path, {"address": rows[2]["メールアドレス"]})
    page = client_for(auditor).get(reverse("audit_campaign", args=[campaign.pk])).content.decode()
    ledger = page[page.index('id="download-ledger"'):]
    assert rows[2]["メールアドレス"] in ledger and "kaiho-11.pdf" in ledger
    assert 'data-outcome="downloaded"' in ledger
    assert "1 recipients downloaded (1 downloads)" in page


def test_too_many_wrong_addresses_lock_the_recipients_links(sent, esp, settings):
    campaign, rows = sent
    settings.MAILGUARD = {**settings.MAILGUARD, "LINK_MAX_WRONG_ADDRESSES": 3}
    address = rows[0]["メールアドレス"]
    path = link_of(esp, address)
    client = anonymous()
    for guess in range(3):
        assert client.post(path, {"address": f"guess{guess}@example.com"}).status_code == 200
    locked = client.post(path, {"address": address})
    assert locked.status_code == 429
    assert Download.objects.filter(outcome=Download.Outcome.DOWNLOADED).count() == 0
    # The lockout passes.
    Download.objects.update(created_at=timezone.now() - timedelta(seconds=settings.MAILGUARD["LINK_LOCKOUT_SECONDS"]))
    assert client.post(path, {"address": address}).status_code == 200


def test_a_link_expires_after_the_configured_days(sent, esp, settings):
    campaign, rows = sent
    path = link_of(esp, rows[0]["メールアドレス"])
    days = settings.MAILGUARD["LINK_TTL_DAYS"]
    Campaign.objects.filter(pk=campaign.pk).update(sending_started_at=timezone.now() - timedelta(days=days, seconds=1))
    response = anonymous().get(path)
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert anonymous().post(path, {"address": rows[0]["メールアドレス"]}).status_code == 410


@pytest.mark.parametrize("change", ["letter", "kind", "signature"])
def test_an_altered_or_foreign_token_is_not_found(sent, esp, change):
    campaign, rows = sent
    path = link_of(esp, rows[0]["メールアドレス"])
    token = path.split("/")[2]
    if change == "letter":
        token = token[:-1] + ("A" if token[-1] != "A" else "B")
    elif change == "kind":  # a valid unsubscribe token used as a download link
        token = recipient_links.make_token(recipient_links.UNSUBSCRIBE, campaign.recipients.first().pk)
    else:
        payload, _mac = token.split(".")
        token = payload + "." + "x" * 22
    assert anonymous().get(f"/files/{token}/").status_code == 404


def test_links_work_only_for_messages_that_left(drafter, reviewer, sender, esp):
    rows = members(2)
    esp.reject_recipients([rows[1]["メールアドレス"]])
    campaign = approved_with(drafter, reviewer, sender, rows)
    token = recipient_links.make_token(recipient_links.DOWNLOAD, campaign.recipients.get(
        email=rows[0]["メールアドレス"]).pk, campaign.attachments.get().pk)
    assert anonymous().get(f"/files/{token}/").status_code == 403  # approved, not sent yet
    send_all(campaign.pk)
    assert anonymous().get(f"/files/{token}/").status_code == 200
    failed = campaign.recipients.get(email=rows[1]["メールアドレス"])
    assert failed.delivery.status == Delivery.Status.FAILED
    token = recipient_links.make_token(recipient_links.DOWNLOAD, failed.pk, campaign.attachments.get().pk)
    assert anonymous().get(f"/files/{token}/").status_code == 403


def test_a_file_changed_on_disk_after_approval_is_not_served(sent, esp):
    campaign, rows = sent
    attachment = campaign.attachments.get()
    with attachment.file.open("wb") as handle:
        handle.write(b"%PDF-1.4 something else")
    response = anonymous().post(link_of(esp, rows[0]["メールアドレス"]), {"address": rows[0]["メールアドレス"]})
    assert response.status_code == 410
    assert not Download.objects.filter(outcome=Download.Outcome.DOWNLOADED).exists()


def test_a_proof_copy_shows_the_links_but_they_download_nothing(drafter, sender, esp, client_for):
    campaign = campaign_with(drafter, sender, members(2))
    client_for(drafter).post(reverse("proof_send", args=[campaign.pk]), {"row": "2"})
    [proof] = esp.messages_to(drafter.email)
    assert proof.attachments == []
    [path] = download_paths(proof.text_body)
    token = recipient_links.read_token(path.split("/")[2])
    assert token.proof and token.recipient_id == campaign.recipients.get(row_number=2).pk
    response = anonymous().get(path)
    assert response.status_code == 403 and "proof copy" in response.content.decode()


# --- Stop all downloads ------------------------------------------------------------------------------------


def test_stop_all_downloads_revokes_every_link_at_once_and_is_audited(sent, esp, drafter, client_for):
    campaign, rows = sent
    paths = [link_of(esp, row["メールアドレス"]) for row in rows]
    client = client_for(drafter)
    page = client.get(reverse("campaign_detail", args=[campaign.pk])).content.decode()
    assert 'id="stop-downloads-form"' in page
    response = client.post(reverse("downloads_stop", args=[campaign.pk]), {"reason": "wrong file"}, follow=True)
    assert "Every download link of this campaign is stopped." in response.content.decode()
    for path, row in zip(paths, rows, strict=True):
        assert anonymous().get(path).status_code == 410
        refused = anonymous().post(path, {"address": row["メールアドレス"]})
        assert refused.status_code == 410 and "stopped the downloads" in refused.content.decode()
    event = AuditEvent.objects.get(campaign=campaign, action="downloads_stopped")
    assert event.actor == drafter and event.details["reason"] == "wrong file"
    # Once is enough: a second stop is refused and records nothing.
    client.post(reverse("downloads_stop", args=[campaign.pk]))
    assert AuditEvent.objects.filter(campaign=campaign, action="downloads_stopped").count() == 1
    assert 'id="stop-downloads-form"' not in client.get(reverse("campaign_detail", args=[campaign.pk])).content.decode()


def test_who_may_stop_downloads(sent, reviewer, auditor, other_drafter_user, client_for):
    campaign, _rows = sent
    url = reverse("downloads_stop", args=[campaign.pk])
    assert client_for(auditor).post(url).status_code == 403
    assert client_for(other_drafter_user).post(url).status_code == 404
    assert not Campaign.objects.get(pk=campaign.pk).downloads_stopped_at
    assert client_for(reviewer).post(url).status_code == 302
    assert Campaign.objects.get(pk=campaign.pk).downloads_stopped_at


def test_a_campaign_without_links_has_nothing_to_stop(drafter, reviewer, sender, esp):
    campaign = approved_with(drafter, reviewer, sender, members(2), links=False)
    with pytest.raises(workflow.WorkflowError):
        workflow.stop_downloads(campaign, drafter)
    draft = campaign_with(drafter, sender, members(2))
    with pytest.raises(workflow.WorkflowError):
        workflow.stop_downloads(draft, drafter)


@pytest.fixture
def other_drafter_user(db, django_user_model):
    from approvals.roles import Role
    from tests.conftest import make_user

    return make_user(django_user_model, "other", Role.DRAFTER)


# --- Retention -------------------------------------------------------------------------------------------------


def test_the_retention_purge_deletes_the_files_links_serve(sent, esp, drafter, reviewer, sender):
    campaign, rows = sent
    path = link_of(esp, rows[0]["メールアドレス"])
    attached = approved_with(drafter, reviewer, sender, members(2), links=False, name="attached")
    send_all(attached.pk)
    old = timezone.now() - timedelta(days=400)
    Campaign.objects.filter(pk__in=[campaign.pk, attached.pk]).update(finished_at=old)
    call_command("purge_personal_data", "--older-than-days", "365", stdout=StringIO())
    link_file = campaign.attachments.get()
    assert not link_file.file.name and link_file.sha256  # the bytes are gone, the record stays
    assert attached.attachments.get().file.name  # attached files are kept, as before
    assert anonymous().get(path).status_code == 410
    event = AuditEvent.objects.get(campaign=campaign, action="personal_data_purged")
    assert event.details["link_files_deleted"] == 1
    # A copy of the purged campaign starts without the deleted file (and without an error).
    assert workflow.copy_campaign(campaign, drafter).attachments.count() == 0
