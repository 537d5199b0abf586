"""The delivery engine in this process, through the SMTP relay backend to a real local SMTP server.

Each test compares what the server stored with the ledger; the worker-process
versions of the same faults are in tests/faults/test_smtp_faults.py.
"""

import os
import ssl
from collections import Counter

import pytest
import trustme
from django.core.exceptions import ImproperlyConfigured

from approvals.delivery import engine
from approvals.delivery.smtp import EmailBackend
from approvals.models import Campaign, Delivery, InternalDomain
from tests.conftest import SMTP_BACKEND, smtp_settings, wait_for
from tests.factories import approved_campaign, members, send_all
from tests.smtp_server import SMTPServer, Step

State = Campaign.State
Status = Delivery.Status


def send_until_settled(campaign_id: int) -> None:
    """Start, then batches until nothing is pending, retries included (no backoff in tests)."""
    send_all(campaign_id)
    while engine.send_batch(campaign_id).again_in is not None:
        pass


def statuses(campaign) -> Counter:
    return Counter(campaign.deliveries.values_list("status", flat=True))


def assert_ledger_matches_server(campaign, relay) -> None:
    stored = relay.stored_by_recipient()
    for email, status in campaign.deliveries.values_list("email", "status"):
        copies = stored.get(email.lower(), 0)
        if status == Status.SENT:
            assert copies == 1, f"{email}: sent, stored {copies} times"
        elif status == Status.IN_DOUBT:
            assert copies <= 1, f"{email}: in doubt, stored {copies} times"
        else:
            assert copies == 0, f"{email}: {status}, stored {copies} times"
    assert not relay.duplicates()


def test_each_recipient_gets_one_message_over_one_reused_session(drafter, reviewer, sender, relay):
    rows = members(6)
    campaign = approved_campaign(drafter, reviewer, sender, rows)
    send_until_settled(campaign.pk)

    assert relay.sessions == 1
    stored = {m.message_id: m for m in relay.messages()}
    for delivery in campaign.deliveries.all():
        message = stored[delivery.message_id]
        assert message.rcpt_tos == (delivery.email,)
        assert delivery.status == Status.SENT and delivery.esp_message_id == delivery.message_id
    assert_ledger_matches_server(campaign, relay)
    campaign.refresh_from_db()
    assert campaign.state == State.SENT


def test_a_session_carries_at_most_the_configured_number_of_messages(drafter, reviewer, sender, relay, settings):
    settings.MAILGUARD_SMTP = {**settings.MAILGUARD_SMTP, "MESSAGES_PER_CONNECTION": 3}
    campaign = approved_campaign(drafter, reviewer, sender, members(7))
    send_until_settled(campaign.pk)

    assert Counter(m.session for m in relay.messages()) == {1: 3, 2: 3, 3: 1}
    assert statuses(campaign) == {Status.SENT: 7}


def test_recipient_refused_at_rcpt_fails_at_once_and_the_others_are_sent(drafter, reviewer, sender, relay):
    rows = members(5)
    relay.refuse_recipients([rows[2]["メールアドレス"]], "550 5.1.1 <member00002@example.com>: no such user")
    campaign = approved_campaign(drafter, reviewer, sender, rows)
    send_until_settled(campaign.pk)

    failed = campaign.deliveries.get(status=Status.FAILED)
    assert failed.email == rows[2]["メールアドレス"] and failed.attempts == 1
    assert "rcpt" in failed.error and "550" in failed.error
    assert statuses(campaign) == {Status.SENT: 4, Status.FAILED: 1}
    assert_ledger_matches_server(campaign, relay)


def test_shared_message_reaches_the_accepted_recipients_when_one_is_refused(drafter, reviewer, sender, relay):
    InternalDomain.objects.create(domain="example.com")
    rows = members(3)
    relay.refuse_recipients([rows[1]["メールアドレス"]])
    campaign = approved_campaign(drafter, reviewer, sender, rows, mode="shared")
    send_until_settled(campaign.pk)

    [message] = relay.messages()
    assert set(message.rcpt_tos) == {rows[0]["メールアドレス"], rows[2]["メールアドレス"]}
    # The header still shows everyone: that is what the reviewer approved for a shared message.
    assert all(row["メールアドレス"] in message.headers["To"] for row in rows)
    assert campaign.deliveries.get(email=rows[1]["メールアドレス"]).status == Status.FAILED
    assert statuses(campaign) == {Status.SENT: 2, Status.FAILED: 1}


def test_bcc_mode_envelope_holds_only_the_recipient(drafter, reviewer, sender, relay):
    rows = members(2)
    campaign = approved_campaign(drafter, reviewer, sender, rows, mode="bcc")
    send_until_settled(campaign.pk)

    assert sorted(m.rcpt_tos for m in relay.messages()) == [(row["メールアドレス"],) for row in rows]
    assert all(sender.email in m.headers["To"] for m in relay.messages())


@pytest.mark.parametrize("step, reply", [
    (Step.RCPT, "451 4.3.0 Mailbox busy"),
    (Step.MAIL, "452 4.3.1 Insufficient storage"),
    (Step.DATA, "451 4.3.0 Try again later"),
    (Step.END, "451 4.7.1 Greylisted, try again later"),
])
def test_temporary_refusal_is_retried_and_delivered_once(drafter, reviewer, sender, relay, step, reply):
    relay.answer_next(step, reply)
    campaign = approved_campaign(drafter, reviewer, sender, members(3))
    send_until_settled(campaign.pk)

    assert statuses(campaign) == {Status.SENT: 3}
    assert sorted(campaign.deliveries.values_list("attempts", flat=True)) == [1, 1, 2]
    assert_ledger_matches_server(campaign, relay)


@pytest.mark.parametrize("step", [Step.DATA, Step.END])
def test_permanent_refusal_of_the_message_fails_it_without_retry(drafter, reviewer, sender, relay, step):
    relay.answer_next(step, "554 5.6.0 Message content rejected")
    campaign = approved_campaign(drafter, reviewer, sender, members(3))
    send_until_settled(campaign.pk)

    failed = campaign.deliveries.get(status=Status.FAILED)
    assert failed.attempts == 1 and "554" in failed.error
    assert statuses(campaign) == {Status.SENT: 2, Status.FAILED: 1}
    assert_ledger_matches_server(campaign, relay)


def test_late_answer_after_the_end_of_data_is_in_doubt_and_never_resent(drafter, reviewer, sender, relay, settings):
    # The answer comes long after the client stopped waiting (the client's wait is all this costs).
    settings.MAILGUARD_SMTP = {**settings.MAILGUARD_SMTP, "DATA_TIMEOUT": 2}
    relay.late_answer_next(30.0)
    campaign = approved_campaign(drafter, reviewer, sender, members(3))
    send_until_settled(campaign.pk)
    engine.send_batch(campaign.pk)

    doubtful = campaign.deliveries.get(status=Status.IN_DOUBT)
    assert relay.stored_by_recipient()[doubtful.email] == 1
    assert "end_of_data" in doubtful.error and "may have accepted" in doubtful.error
    assert statuses(campaign) == {Status.SENT: 2, Status.IN_DOUBT: 1}
    assert_ledger_matches_server(campaign, relay)


def test_disconnect_after_the_end_of_data_is_in_doubt_even_when_nothing_was_stored(
        drafter, reviewer, sender, relay):
    relay.drop_next(Step.END, stored=False)
    campaign = approved_campaign(drafter, reviewer, sender, members(3))
    send_until_settled(campaign.pk)

    doubtful = campaign.deliveries.get(status=Status.IN_DOUBT)
    assert relay.stored_by_recipient()[doubtful.email] == 0
    assert statuses(campaign) == {Status.SENT: 2, Status.IN_DOUBT: 1}


@pytest.mark.parametrize("step", [Step.MAIL, Step.RCPT, Step.DATA])
def test_421_before_the_end_of_data_reconnects_and_sends_the_message_once(drafter, reviewer, sender, relay, step):
    relay.answer_next(step, "421 4.3.2 Service shutting down")
    campaign = approved_campaign(drafter, reviewer, sender, members(4))
    send_until_settled(campaign.pk)

    assert relay.sessions == 2
    assert statuses(campaign) == {Status.SENT: 4}
    assert set(campaign.deliveries.values_list("attempts", flat=True)) == {1}
    assert_ledger_matches_server(campaign, relay)


def test_421_after_the_end_of_data_is_retried_later_on_a_new_session(drafter, reviewer, sender, relay):
    relay.answer_next(Step.END, "421 4.3.2 Shutting down, message not accepted")
    campaign = approved_campaign(drafter, reviewer, sender, members(3))
    send_until_settled(campaign.pk)

    assert statuses(campaign) == {Status.SENT: 3}
    assert relay.sessions >= 2
    assert_ledger_matches_server(campaign, relay)


def test_session_dropped_while_a_large_message_is_sent_is_resent_once_on_a_new_session(
        drafter, reviewer, sender, relay):
    # Larger than the socket buffers: the final "." cannot have left when the server hangs up.
    image = b"\x89PNG\r\n\x1a\n" + os.urandom(8 * 1024 * 1024)
    relay.drop_next(Step.DATA)
    campaign = approved_campaign(drafter, reviewer, sender, members(2),
                                 attachments=[("poster.png", image, "image/png")])
    send_until_settled(campaign.pk)

    assert statuses(campaign) == {Status.SENT: 2}
    assert relay.sessions == 2
    assert_ledger_matches_server(campaign, relay)


def test_unreachable_relay_is_retried_then_pauses_the_campaign_without_failing_anyone(
        drafter, reviewer, sender, relay, settings):
    settings.MAILGUARD = {**settings.MAILGUARD, "SEND_MAX_ATTEMPTS": 2}
    settings.MAILGUARD_SMTP = {**settings.MAILGUARD_SMTP, "PORT": _closed_port()}
    campaign = approved_campaign(drafter, reviewer, sender, members(3))
    send_all(campaign.pk)
    assert statuses(campaign) == {Status.PENDING: 3}
    assert "connect" in campaign.deliveries.first().error

    engine.send_batch(campaign.pk)
    campaign.refresh_from_db()
    assert campaign.state == State.PAUSED and "connect" in campaign.pause_reason
    assert statuses(campaign) == {Status.PENDING: 3}
    assert relay.messages() == []


def test_proof_copy_goes_only_to_the_proof_address_and_the_session_is_closed(
        drafter, reviewer, sender, relay):
    from approvals.delivery.proof import send_proof

    campaign = approved_campaign(drafter, reviewer, sender, members(2))
    accepted, _detail = send_proof(campaign, campaign.recipients.first(), "checker@city.example.jp")

    assert accepted
    [message] = relay.messages()
    assert message.rcpt_tos == ("checker@city.example.jp",) and message.headers["X-MailGuard-Proof"]
    wait_for(lambda: relay.open_sessions == 0, timeout=10, message="the proof's session to close")


def test_django_send_mail_goes_through_the_relay_and_raises_on_refusal(relay):
    from django.core.mail import send_mail

    from approvals.delivery.smtp import MessageRefused

    assert send_mail("件名", "本文", "koho@city.example.jp", ["admin@city.example.jp"]) == 1
    assert [m.rcpt_tos for m in relay.messages()] == [("admin@city.example.jp",)]
    relay.refuse_recipients(["gone@city.example.jp"])
    with pytest.raises(MessageRefused):
        send_mail("件名", "本文", "koho@city.example.jp", ["gone@city.example.jp"])


def test_credentials_are_never_sent_without_tls(settings):
    with pytest.raises(ImproperlyConfigured):
        EmailBackend(security="none", user="relay", password="secret")


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- TLS and AUTH against a relay with a certificate from a CA made here -----------------------


@pytest.fixture(scope="module")
def relay_ca(tmp_path_factory):
    ca = trustme.CA(organization_name="MailGuard test relay CA")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path_factory.mktemp("ca") / "relay-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return server_context, str(ca_file)


@pytest.fixture
def implicit_tls_relay(relay_ca, settings):
    server_context, ca_file = relay_ca
    with SMTPServer(tls_context=server_context, implicit_tls=True, users={"relay-user": "relay-password"}) as server:
        settings.EMAIL_BACKEND = SMTP_BACKEND
        settings.MAILGUARD_SMTP = smtp_settings(server, SECURITY="tls", CA_FILE=ca_file,
                                                USER="relay-user", PASSWORD="relay-password")
        yield server


def test_implicit_tls_with_the_relays_ca_sends_encrypted_and_authenticated(
        drafter, reviewer, sender, implicit_tls_relay):
    campaign = approved_campaign(drafter, reviewer, sender, members(3))
    send_until_settled(campaign.pk)

    assert statuses(campaign) == {Status.SENT: 3}
    assert {(m.tls, m.user) for m in implicit_tls_relay.messages()} == {(True, "relay-user")}


def test_rejected_credentials_pause_the_campaign_with_the_relays_answer(
        drafter, reviewer, sender, implicit_tls_relay, settings):
    settings.MAILGUARD_SMTP = {**settings.MAILGUARD_SMTP, "PASSWORD": "wrong"}
    campaign = approved_campaign(drafter, reviewer, sender, members(3))
    send_all(campaign.pk)

    campaign.refresh_from_db()
    assert campaign.state == State.PAUSED and "535" in campaign.pause_reason
    assert statuses(campaign) == {Status.PENDING: 3}
    assert implicit_tls_relay.messages() == []


def test_relay_without_starttls_is_never_used_in_plain_text(drafter, reviewer, sender, relay, settings):
    settings.MAILGUARD_SMTP = {**settings.MAILGUARD_SMTP, "SECURITY": "starttls"}
    campaign = approved_campaign(drafter, reviewer, sender, members(2))
    send_all(campaign.pk)

    campaign.refresh_from_db()
    assert campaign.state == State.PAUSED and "STARTTLS" in campaign.pause_reason
    assert relay.messages() == []
