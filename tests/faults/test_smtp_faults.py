"""Nothing lost, nothing doubled over an SMTP relay: real worker processes, a real SMTP server, injected faults.

Each test runs its own workers on the fault queue, sends through
approvals.delivery.smtp to the aiosmtpd server of tests/smtp_server.py, and
compares what the server stored with the delivery ledger.
"""

import os
import ssl
from collections import Counter

import pytest
import trustme

from approvals import workflow
from approvals.delivery import engine
from approvals.models import Campaign, Delivery
from tests.conftest import SMTP_BACKEND, smtp_settings, smtp_worker_overrides, wait_for
from tests.factories import approve_after_review, approved_campaign, members, submitted_campaign
from tests.faults.test_faults import (
    BATCH,
    FAST,
    approve,
    busiest_second,
    fault_queue,  # noqa: F401 (a fixture)
    kick,
    wait_until_finished,
)
from tests.smtp_server import SMTPServer, Step

pytestmark = pytest.mark.worker
Status = Delivery.Status


@pytest.fixture
def smtp_relay(smtp_relay_server, settings):
    """The session's SMTP server (offering PIPELINING), cleared; this process sends through it too."""
    smtp_relay_server.clear()
    settings.EMAIL_BACKEND = SMTP_BACKEND
    settings.MAILGUARD_SMTP = smtp_settings(smtp_relay_server)
    settings.MAILGUARD = {**settings.MAILGUARD, "RATE_PER_SECOND": 0}
    yield smtp_relay_server
    smtp_relay_server.reset_faults()


def ledger_matches_server(campaign: Campaign, server: SMTPServer) -> Counter:
    """Every delivery's status agrees with what the server stored; returns the status counts."""
    stored = server.stored_by_recipient()
    statuses = Counter()
    for email, status in campaign.deliveries.values_list("email", "status"):
        statuses[status] += 1
        copies = stored.get(email.lower(), 0)
        if status == Status.SENT:
            assert copies == 1, f"{email}: sent but the server stored {copies}"
        elif status == Status.IN_DOUBT:
            assert copies <= 1, f"{email}: in doubt and stored {copies} times"
        else:
            assert copies == 0, f"{email}: {status} but the server stored {copies}"
    assert not server.duplicates()
    return statuses


def test_late_answer_after_data_is_in_doubt_stored_once_and_never_resent(
        spawn_worker, fault_queue, smtp_relay, drafter, reviewer, sender):  # noqa: F811
    # The answers come long after the worker stopped waiting (its wait is all this costs).
    spawn_worker(concurrency=1, **FAST, **smtp_worker_overrides(smtp_relay, MAILGUARD_SMTP_DATA_TIMEOUT=3))
    smtp_relay.late_answer_next(30.0, times=2)
    campaign = approve(drafter, reviewer, sender, 20)
    wait_until_finished(campaign.pk)

    statuses = ledger_matches_server(campaign, smtp_relay)
    assert statuses == {Status.SENT: 18, Status.IN_DOUBT: 2}
    stored = smtp_relay.stored_by_recipient()
    assert [stored[d.email] for d in campaign.deliveries.filter(status=Status.IN_DOUBT)] == [1, 1]
    assert smtp_relay.pending_faults() == 0


def test_recipients_refused_at_rcpt_fail_alone_and_the_rest_are_sent(
        spawn_worker, fault_queue, smtp_relay, drafter, reviewer, sender):  # noqa: F811
    rows = members(30)
    refused = [rows[3]["メールアドレス"], rows[17]["メールアドレス"]]
    smtp_relay.refuse_recipients(refused, "550 5.1.1 No such user here")
    spawn_worker(concurrency=2, **FAST, **smtp_worker_overrides(smtp_relay))
    campaign = approve(drafter, reviewer, sender, 30)
    wait_until_finished(campaign.pk)

    statuses = ledger_matches_server(campaign, smtp_relay)
    assert statuses == {Status.SENT: 28, Status.FAILED: 2}
    failed = campaign.deliveries.filter(status=Status.FAILED)
    assert sorted(failed.values_list("email", flat=True)) == sorted(refused)
    assert all("550" in error for error in failed.values_list("error", flat=True))
    # A permanent refusal is never retried, and nobody else was either.
    assert set(campaign.deliveries.values_list("attempts", flat=True)) == {1}


def test_421_mid_session_reconnects_and_loses_or_doubles_nothing(
        spawn_worker, fault_queue, smtp_relay, drafter, reviewer, sender):  # noqa: F811
    # A rate keeps the campaign running while the faults are armed in the middle of it.
    spawn_worker(concurrency=2, **{**FAST, "MAILGUARD_RATE_PER_SECOND": 40},
                 **smtp_worker_overrides(smtp_relay, MAILGUARD_SMTP_MESSAGES_PER_CONNECTION=1000))
    campaign = approve(drafter, reviewer, sender, 200)
    wait_for(lambda: len(smtp_relay.messages()) >= 20, message="sending to be under way")
    for step in (Step.MAIL, Step.RCPT, Step.DATA, Step.END):
        smtp_relay.answer_next(step, "421 4.3.2 Service shutting down, closing channel")
    wait_until_finished(campaign.pk)

    statuses = ledger_matches_server(campaign, smtp_relay)
    assert statuses == {Status.SENT: 200}
    assert smtp_relay.pending_faults() == 0
    # 4 batches of 50, each on its own session, and a new session after each 421.
    assert smtp_relay.sessions >= 4 + 4
    # The shared rate limit held across both worker threads (a burst of one token).
    assert busiest_second([m.received_at for m in smtp_relay.messages()]) <= 40 + 1


def test_disconnect_during_data_resends_only_a_message_whose_end_never_left(
        spawn_worker, fault_queue, smtp_relay, drafter, reviewer, sender):  # noqa: F811
    # Larger than the socket buffers, so a hang-up in the middle stops the client before the final ".".
    image = b"\x89PNG\r\n\x1a\n" + os.urandom(8 * 1024 * 1024)
    smtp_relay.drop_next(Step.DATA)
    smtp_relay.drop_next(Step.END, stored=False)
    spawn_worker(concurrency=1, **FAST, **smtp_worker_overrides(smtp_relay))
    campaign = approved_campaign(drafter, reviewer, sender, members(6),
                                 attachments=[("poster.png", image, "image/png")])
    wait_until_finished(campaign.pk)

    statuses = ledger_matches_server(campaign, smtp_relay)
    # Cut mid-message: sent again on a new session, stored once. Cut after the end: in doubt.
    assert statuses == {Status.SENT: 5, Status.IN_DOUBT: 1}
    assert smtp_relay.pending_faults() == 0


def test_sigkill_of_a_worker_mid_campaign_loses_and_doubles_nothing_over_smtp(
        spawn_worker, fault_queue, smtp_relay, drafter, reviewer, sender):  # noqa: F811
    overrides = {**FAST, **smtp_worker_overrides(smtp_relay), "MAILGUARD_IN_DOUBT_AFTER_SECONDS": 5}
    doomed = spawn_worker(concurrency=2, **overrides)
    campaign = approve(drafter, reviewer, sender, 2000)
    wait_for(lambda: len(smtp_relay.messages()) >= 300, message="sending to be under way")
    doomed.kill()

    spawn_worker(concurrency=2, **overrides)
    wait_until_finished(campaign.pk)

    statuses = ledger_matches_server(campaign, smtp_relay)
    assert statuses[Status.SENT] + statuses[Status.IN_DOUBT] == 2000
    assert statuses[Status.IN_DOUBT] <= 2 * BATCH  # at most one batch per killed pool process


def test_two_workers_on_one_campaign_send_each_message_once_over_smtp(
        spawn_worker, fault_queue, smtp_relay, drafter, reviewer, reviewer2, sender):  # noqa: F811
    from approvals.tasks import dispatch_campaign

    spawn_worker(concurrency=2, **FAST, **smtp_worker_overrides(smtp_relay))
    spawn_worker(concurrency=2, **FAST, **smtp_worker_overrides(smtp_relay))
    campaign = submitted_campaign(drafter, sender, members(500))
    approve_after_review(campaign, reviewer)
    with pytest.raises(workflow.WorkflowError):
        workflow.approve(campaign, reviewer2, campaign.submitted_hash)
    dispatch_campaign.delay(campaign.pk)
    dispatch_campaign.delay(campaign.pk)
    engine.start(campaign.pk)  # and a third start from this process
    wait_until_finished(campaign.pk)

    statuses = ledger_matches_server(campaign, smtp_relay)
    assert statuses == {Status.SENT: 500}
    assert len(smtp_relay.messages()) == 500


# --- TLS: a private CA made by the test --------------------------------------------------------


@pytest.fixture(scope="module")
def private_ca(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ca")
    ca = trustme.CA(organization_name="MailGuard test relay CA")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    trusted, stranger = folder / "relay-ca.pem", folder / "other-ca.pem"
    ca.cert_pem.write_to_path(str(trusted))
    trustme.CA(organization_name="Someone else").cert_pem.write_to_path(str(stranger))
    return server_context, trusted, stranger


@pytest.fixture
def tls_relay(private_ca):
    server_context, _trusted, _stranger = private_ca
    with SMTPServer(tls_context=server_context, users={"relay-user": "relay-password"}) as server:
        yield server


def starttls_overrides(server: SMTPServer, ca_file) -> dict:
    return smtp_worker_overrides(server, MAILGUARD_SMTP_SECURITY="starttls", MAILGUARD_SMTP_CA_FILE=ca_file,
                                 MAILGUARD_SMTP_USER="relay-user", MAILGUARD_SMTP_PASSWORD="relay-password")


def test_starttls_with_the_relays_private_ca_sends_everything_encrypted_and_authenticated(
        spawn_worker, fault_queue, smtp_relay, tls_relay, private_ca, drafter, reviewer, sender):  # noqa: F811
    _context, trusted, _stranger = private_ca
    spawn_worker(concurrency=2, **FAST, **starttls_overrides(tls_relay, trusted))
    campaign = approve(drafter, reviewer, sender, 20)
    wait_until_finished(campaign.pk)

    assert ledger_matches_server(campaign, tls_relay) == {Status.SENT: 20}
    assert {(m.tls, m.user) for m in tls_relay.messages()} == {(True, "relay-user")}


def test_starttls_with_a_certificate_from_another_ca_pauses_the_campaign_and_sends_nothing(
        spawn_worker, fault_queue, smtp_relay, tls_relay, private_ca, drafter, reviewer, sender):  # noqa: F811
    _context, _trusted, stranger = private_ca
    spawn_worker(concurrency=2, **FAST, **starttls_overrides(tls_relay, stranger))
    campaign = approve(drafter, reviewer, sender, 20)

    def paused():
        kick()
        return Campaign.objects.get(pk=campaign.pk).state == Campaign.State.PAUSED

    wait_for(paused, interval=1, message="the campaign to pause")
    campaign.refresh_from_db()
    assert "certificate is not trusted" in campaign.pause_reason
    assert tls_relay.messages() == []
    assert ledger_matches_server(campaign, tls_relay) == {Status.PENDING: 20}
