"""Tests for tests/fake_esp.py, driven through anymail's real Postmark backend.

Nothing in anymail is mocked: every test sends Django EmailMessages through
``anymail.backends.postmark.EmailBackend`` pointed at the fake, so these tests
also pin down the anymail behaviour the rest of the suite relies on (which
exception each fault produces, when the batch endpoint is used, ...).
"""

import subprocess
import sys
import textwrap
import threading
import time

import pytest
import requests
from anymail.exceptions import (
    AnymailAPIError,
    AnymailRecipientsRefused,
    AnymailRequestsAPIError,
)
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection

from tests.fake_esp import Attachment, FakeESP

FROM = "MailGuard <mailguard@example.com>"


@pytest.fixture
def fake():
    with FakeESP() as server:
        yield server


def postmark(fake, **kwargs):
    kwargs.setdefault("server_token", fake.token)
    return get_connection("anymail.backends.postmark.EmailBackend", api_url=fake.url, **kwargs)


def message(to="alice@example.com", subject="Hello", body="Body", **kwargs):
    to = [to] if isinstance(to, str) else to
    return EmailMessage(subject, body, FROM, to, **kwargs)


def test_single_send_is_recorded_with_all_fields(fake):
    msg = EmailMultiAlternatives(
        "Quarterly report",
        "Plain text body",
        FROM,
        ["Alice Example <alice@example.com>"],
        cc=["carol@example.com"],
        headers={"X-MailGuard-Recipient": "42", "Message-ID": "<r42@mailguard.test>"},
    )
    msg.attach_alternative("<p>HTML body</p>", "text/html")
    pdf = b"%PDF-1.4\x00\x01\xff binary"
    msg.attach("report.pdf", pdf, "application/pdf")
    msg.metadata = {"batch": "7"}

    assert postmark(fake).send_messages([msg]) == 1

    [rec] = fake.messages()
    assert rec.to == "Alice Example <alice@example.com>"
    assert rec.cc == "carol@example.com"
    assert rec.from_ == FROM
    assert rec.subject == "Quarterly report"
    assert rec.text_body == "Plain text body"
    assert rec.html_body == "<p>HTML body</p>"
    assert rec.headers["X-MailGuard-Recipient"] == "42"
    assert rec.header("message-id") == "<r42@mailguard.test>"
    assert rec.attachments == [("report.pdf", "application/pdf", pdf)]
    assert rec.attachments[0] == Attachment("report.pdf", "application/pdf", pdf)
    assert rec.metadata == {"batch": "7"}
    assert rec.endpoint == "email"
    assert rec.received_at <= time.monotonic()
    assert rec.recipients == ["alice@example.com", "carol@example.com"]

    assert msg.anymail_status.message_id == rec.message_id
    assert msg.anymail_status.status == {"sent"}
    assert msg.anymail_status.recipients["alice@example.com"].message_id == rec.message_id
    assert fake.messages_to("ALICE@example.com") == [rec]
    assert fake.messages_to("bob@example.com") == []
    assert fake.request_count == 1


def test_one_open_connection_reuses_one_tcp_connection_without_nagle_stalls(fake):
    connection = postmark(fake)
    connection.open()
    try:
        started = time.monotonic()
        for i in range(20):
            assert connection.send_messages([message(f"user{i}@example.com")]) == 1
        elapsed = time.monotonic() - started
    finally:
        connection.close()

    assert fake.connection_count == 1
    assert fake.request_count == 20
    assert len(fake.messages()) == 20
    times = fake.request_times
    assert times == sorted(times) and len(times) == 20
    # With Nagle + delayed ACK every request would take >= 40 ms.
    assert elapsed < 20 * 0.040, f"20 sends took {elapsed:.3f}s"


def test_wrong_token_is_401_and_records_nothing(fake):
    with pytest.raises(AnymailAPIError) as excinfo:
        postmark(fake, server_token="not-the-token").send_messages([message()])

    err = excinfo.value
    assert isinstance(err, AnymailRequestsAPIError)
    assert err.status_code == 401
    assert err.response.json() == {"ErrorCode": 10, "Message": "Bad or missing Server API Token"}
    assert fake.messages() == []
    assert fake.request_count == 1


def test_fail_next_500_raises_and_records_nothing_then_recovers(fake):
    fake.fail_next(1)
    connection = postmark(fake)

    with pytest.raises(AnymailRequestsAPIError) as excinfo:
        connection.send_messages([message()])
    assert excinfo.value.status_code == 500
    assert excinfo.value.response.json() == {"ErrorCode": 100, "Message": "Internal error"}
    assert fake.messages() == []

    assert connection.send_messages([message()]) == 1
    assert len(fake.messages()) == 1
    assert fake.request_count == 2


def test_429_with_retry_after_header(fake):
    fake.fail_next(2, status=429, retry_after=7)
    connection = postmark(fake)

    for _ in range(2):
        with pytest.raises(AnymailRequestsAPIError) as excinfo:
            connection.send_messages([message()])
        err = excinfo.value
        assert err.status_code == 429
        assert err.response.headers["Retry-After"] == "7"
        assert err.response.json()["ErrorCode"] == 429

    assert fake.messages() == []
    assert connection.send_messages([message()]) == 1


def test_accept_then_fail_records_the_message_but_raises(fake):
    fake.accept_then_fail_next(1, status=503)

    msg = message("doubt@example.com", headers={"Message-ID": "<doubt@mailguard.test>"})
    with pytest.raises(AnymailRequestsAPIError) as excinfo:
        postmark(fake).send_messages([msg])

    assert excinfo.value.status_code == 503
    [rec] = fake.messages()
    assert rec.to == "doubt@example.com"
    # A naive retry delivers it twice, and the fake makes that visible.
    postmark(fake).send_messages([msg])
    assert fake.duplicates() == {"<doubt@mailguard.test>": 2}


def test_delay_beyond_client_timeout_is_read_timeout_but_message_is_accepted(fake):
    fake.delay_next(1, 5)
    connection = postmark(fake, timeout=0.5)

    started = time.monotonic()
    with pytest.raises(AnymailRequestsAPIError) as excinfo:
        connection.send_messages([message("late@example.com")])
    assert time.monotonic() - started < 3
    assert isinstance(excinfo.value, requests.exceptions.ReadTimeout)
    assert [m.to for m in fake.messages()] == ["late@example.com"]

    # The next request is not delayed.
    assert connection.send_messages([message("prompt@example.com")]) == 1

    # stop() interrupts the handler still sleeping on the first request.
    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 2


def test_set_delay_slows_every_answer(fake):
    fake.set_delay(0.2)
    connection = postmark(fake)
    started = time.monotonic()
    connection.send_messages([message("a@example.com")])
    connection.send_messages([message("b@example.com")])
    assert time.monotonic() - started >= 0.4
    fake.set_delay(0)
    assert len(fake.messages()) == 2


def test_rejected_recipient_on_email_endpoint_raises_recipients_refused(fake):
    fake.reject_recipients(["Bounced@Example.com"])
    msg = message("Bob <bounced@example.com>")

    with pytest.raises(AnymailRecipientsRefused):
        postmark(fake).send_messages([msg])

    assert msg.anymail_status.recipients["bounced@example.com"].status == "rejected"
    assert msg.anymail_status.message_id is None
    assert fake.messages() == []


def test_partially_rejected_single_message_is_sent_to_the_others(fake):
    fake.reject_recipients({"bounced@example.com"})
    msg = message(["ok@example.com", "bounced@example.com"])

    assert postmark(fake).send_messages([msg]) == 1

    statuses = {addr: s.status for addr, s in msg.anymail_status.recipients.items()}
    assert statuses == {"ok@example.com": "sent", "bounced@example.com": "rejected"}
    [rec] = fake.messages()
    assert rec.inactive == ["bounced@example.com"]
    assert fake.accepted_by_recipient() == {"ok@example.com": 1}


def test_batch_send_uses_per_item_results(fake):
    fake.reject_recipients(["bounced@example.com"])
    recipients = ["one@example.com", "bounced@example.com", "Three <three@example.com>"]
    msg = message(recipients, subject="Batch")
    msg.merge_data = {}  # any merge_* attribute set, even empty, selects /email/batch

    assert postmark(fake).send_messages([msg]) == 1

    status = msg.anymail_status.recipients
    assert status["bounced@example.com"].status == "rejected"
    assert status["one@example.com"].status == "sent"
    assert status["three@example.com"].status == "sent"
    recorded = fake.messages()
    assert [m.to for m in recorded] == ["one@example.com", "Three <three@example.com>"]
    assert all(m.endpoint == "email/batch" for m in recorded)
    assert status["one@example.com"].message_id == recorded[0].message_id
    assert status["three@example.com"].message_id == recorded[1].message_id
    assert fake.request_count == 1


def test_batch_with_every_recipient_rejected_raises_recipients_refused(fake):
    fake.reject_recipients(["x@example.com", "y@example.com"])
    msg = message(["x@example.com", "y@example.com"])
    msg.merge_data = {}
    with pytest.raises(AnymailRecipientsRefused):
        postmark(fake).send_messages([msg])
    assert fake.messages() == []


def test_duplicates_and_accepted_by_recipient(fake):
    connection = postmark(fake)
    headers = {"Message-ID": "<same@mailguard.test>"}
    connection.send_messages([message("twice@example.com", headers=headers)])
    connection.send_messages([message("Twice <TWICE@example.com>", headers=headers)])
    connection.send_messages([message("once@example.com", subject="S")])
    # No Message-ID: keyed on To + Subject.
    connection.send_messages([message("nomid@example.com", subject="Same")])
    connection.send_messages([message("nomid@example.com", subject="Same")])

    assert fake.duplicates() == {
        "<same@mailguard.test>": 2,
        "to=nomid@example.com subject=Same": 2,
    }
    assert fake.accepted_by_recipient() == {
        "twice@example.com": 2,
        "once@example.com": 1,
        "nomid@example.com": 2,
    }
    assert len(fake.messages_to("twice@example.com")) == 2

    fake.clear()
    assert fake.messages() == [] and fake.duplicates() == {} and fake.request_count == 0


def test_fail_ratio_is_deterministic_for_a_seed(fake):
    def run():
        fake.clear()
        fake.fail_ratio(0.5, seed=42)
        connection = postmark(fake)
        outcome = []
        for i in range(30):
            try:
                connection.send_messages([message(f"r{i}@example.com")])
                outcome.append(True)
            except AnymailRequestsAPIError as err:
                assert err.status_code == 500
                outcome.append(False)
        return outcome

    first = run()
    assert 0 < first.count(False) < 30
    assert len(fake.messages()) == first.count(True)
    assert run() == first

    fake.reset_faults()
    postmark(fake).send_messages([message()])
    assert len(fake.messages()) == first.count(True) + 1


def test_concurrent_senders(fake):
    errors = []

    def sender(n):
        try:
            connection = postmark(fake)
            connection.open()
            for i in range(10):
                connection.send_messages([message(f"t{n}-{i}@example.com")])
            connection.close()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert errors == []
    recorded = fake.messages()
    assert len(recorded) == 80
    assert len({m.message_id for m in recorded}) == 80
    assert fake.duplicates() == {}
    assert fake.connection_count == 8


def test_send_from_another_process_is_recorded_here(fake):
    # Like the Celery worker: configured only through the ANYMAIL setting.
    script = textwrap.dedent(
        """
        import sys
        import django
        from django.conf import settings

        settings.configure(
            EMAIL_BACKEND="anymail.backends.postmark.EmailBackend",
            ANYMAIL={"POSTMARK_SERVER_TOKEN": sys.argv[1], "POSTMARK_API_URL": sys.argv[2]},
            INSTALLED_APPS=["anymail"],
        )
        django.setup()
        from django.core.mail import send_mail

        send_mail("From the child", "body", "mailguard@example.com", ["child@example.com"])
        """
    )
    subprocess.run(
        [sys.executable, "-c", script, fake.token, fake.url],
        check=True,
        timeout=60,
    )
    [rec] = fake.messages()
    assert (rec.to, rec.subject) == ("child@example.com", "From the child")


def test_stop_is_idempotent_and_url_needs_a_running_server():
    fake = FakeESP(token="t")
    with pytest.raises(RuntimeError):
        _ = fake.url
    fake.start()
    assert fake.url.startswith("http://127.0.0.1:") and fake.url.endswith("/")
    fake.stop()
    fake.stop()
