"""Nothing lost, nothing doubled: real worker processes under injected faults.

Each test runs its own workers on a queue of their own, sends through anymail to
the fake ESP, and compares what the ESP accepted with the delivery ledger.
"""

import subprocess
import time
from collections import Counter

import pytest
from django.conf import settings
from django.db import connection

from approvals import workflow
from approvals.delivery import engine
from approvals.models import Campaign, Delivery
from mailguard.celery import app
from tests.conftest import wait_for
from tests.factories import approve_after_review, members, submitted_campaign

pytestmark = pytest.mark.worker

QUEUE = "faults"
BATCH = 50
FAST = {"MAILGUARD_CELERY_QUEUE": QUEUE, "MAILGUARD_RATE_PER_SECOND": 0, "MAILGUARD_SEND_BATCH_SIZE": BATCH}
Status = Delivery.Status


@pytest.fixture
def fault_queue():
    """Tasks published by this test (approval, sweep) go to the fault workers' queue."""
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = QUEUE
    app.control.purge()
    yield
    app.conf.task_default_queue = previous


@pytest.fixture
def fault_esp(esp, settings):
    settings.MAILGUARD = {**settings.MAILGUARD, "RATE_PER_SECOND": 0}
    return esp


def approve(drafter, reviewer, sender, count: int) -> Campaign:
    campaign = submitted_campaign(drafter, sender, members(count))
    return approve_after_review(campaign, reviewer)


def finished(campaign_id: int) -> bool:
    return Campaign.objects.get(pk=campaign_id).state in (Campaign.State.SENT, Campaign.State.PARTLY_FAILED)


def kick() -> None:
    """What beat does every few seconds: mark silent claims in doubt, re-dispatch lost work."""
    from approvals.tasks import sweep_deliveries

    sweep_deliveries.delay()


def wait_until_finished(campaign_id: int, timeout: float = 180) -> None:
    def done():
        if finished(campaign_id):
            return True
        kick()
        return False

    wait_for(done, timeout=timeout, interval=2, message="the campaign to finish")


def ledger_matches_esp(campaign: Campaign, esp) -> Counter:
    """Every delivery's status agrees with what the ESP holds; returns the status counts."""
    received = esp.accepted_by_recipient()
    statuses = Counter()
    for email, status in campaign.deliveries.values_list("email", "status"):
        statuses[status] += 1
        got = received.get(email.lower(), 0)
        if status == Status.SENT:
            assert got == 1, f"{email}: sent but the ESP holds {got}"
        elif status == Status.IN_DOUBT:
            assert got <= 1, f"{email}: in doubt and received {got} times"
        else:
            assert got == 0, f"{email}: {status} but the ESP holds {got}"
    assert not esp.duplicates()
    return statuses


def test_sigkill_of_a_worker_mid_campaign_loses_and_doubles_nothing(
        spawn_worker, fault_queue, fault_esp, drafter, reviewer, sender):
    doomed = spawn_worker(concurrency=2, **FAST, MAILGUARD_IN_DOUBT_AFTER_SECONDS=5)
    campaign = approve(drafter, reviewer, sender, 2000)
    wait_for(lambda: len(fault_esp.messages()) >= 300, message="sending to be under way")
    doomed.kill()

    spawn_worker(concurrency=2, **FAST, MAILGUARD_IN_DOUBT_AFTER_SECONDS=5)
    wait_until_finished(campaign.pk)

    statuses = ledger_matches_esp(campaign, fault_esp)
    assert statuses[Status.SENT] + statuses[Status.IN_DOUBT] == 2000
    assert statuses[Status.IN_DOUBT] <= 2 * BATCH  # at most one batch per killed pool process


@pytest.mark.skipif(not settings.CELERY_BROKER_URL.startswith("redis"), reason="needs the Redis broker")
def test_redis_restart_mid_send_completes_from_the_database(
        spawn_worker, fault_queue, fault_esp, drafter, reviewer, sender):
    spawn_worker(concurrency=2, **FAST, MAILGUARD_IN_DOUBT_AFTER_SECONDS=5)
    campaign = approve(drafter, reviewer, sender, 1000)
    wait_for(lambda: len(fault_esp.messages()) >= 100, message="sending to be under way")
    restart_redis()

    wait_until_finished(campaign.pk)

    statuses = ledger_matches_esp(campaign, fault_esp)
    assert statuses[Status.SENT] + statuses[Status.IN_DOUBT] == 1000


@pytest.mark.parametrize("status, retry_after", [(500, None), (429, 1)])
def test_esp_errors_on_a_fifth_of_calls_end_in_exactly_one_delivery_within_the_rate(
        spawn_worker, fault_queue, fault_esp, drafter, reviewer, sender, status, retry_after):
    rate = 40
    fault_esp.fail_ratio(0.2, status=status, retry_after=retry_after, seed=11)
    spawn_worker(concurrency=2, **{**FAST, "MAILGUARD_RATE_PER_SECOND": rate, "MAILGUARD_SEND_MAX_ATTEMPTS": 12})
    campaign = approve(drafter, reviewer, sender, 200)

    wait_until_finished(campaign.pk)

    statuses = ledger_matches_esp(campaign, fault_esp)
    assert statuses[Status.SENT] == 200, not_sent(campaign)
    assert busiest_second(fault_esp.request_times) <= rate + 1  # the burst of one token


def test_accepted_then_500_or_late_answer_is_never_sent_twice(
        spawn_worker, fault_queue, fault_esp, drafter, reviewer, sender):
    spawn_worker(concurrency=1, **FAST, ANYMAIL_REQUESTS_TIMEOUT=1)
    fault_esp.accept_then_fail_next(3, status=500)
    campaign = approve(drafter, reviewer, sender, 20)
    wait_until_finished(campaign.pk)
    statuses = ledger_matches_esp(campaign, fault_esp)
    # The ESP's log shows it kept those three: they are sent, not resent.
    assert statuses[Status.SENT] == 20

    fault_esp.clear()
    fault_esp.delay_next(2, 3.0)
    late = approve(drafter, reviewer, sender, 10)
    wait_until_finished(late.pk)
    statuses = ledger_matches_esp(late, fault_esp)
    # Answers that never came back are in doubt: received once, never resent.
    assert statuses[Status.IN_DOUBT] == 2 and statuses[Status.SENT] == 8


@pytest.mark.parametrize("backend", ["anymail.backends.postmark.EmailBackend",
                                     "approvals.delivery.postmark_batch.EmailBackend"])
def test_recipients_the_esp_refuses_fail_alone(
        spawn_worker, fault_queue, fault_esp, drafter, reviewer, sender, backend):
    rows = members(30)
    refused = [rows[3]["メールアドレス"], rows[17]["メールアドレス"]]
    fault_esp.reject_recipients(refused)
    spawn_worker(concurrency=2, **FAST, MAILGUARD_EMAIL_BACKEND=backend)
    campaign = approve(drafter, reviewer, sender, 30)
    wait_until_finished(campaign.pk)

    statuses = ledger_matches_esp(campaign, fault_esp)
    assert statuses == Counter({Status.SENT: 28, Status.FAILED: 2})
    failed = campaign.deliveries.filter(status=Status.FAILED)
    assert sorted(failed.values_list("email", flat=True)) == sorted(refused)
    assert all("rejected" in error for error in failed.values_list("error", flat=True))
    # Nobody else was retried: every accepted message went out on its first attempt.
    assert set(campaign.deliveries.filter(status=Status.SENT).values_list("attempts", flat=True)) == {1}


def test_two_workers_double_approval_and_double_dispatch_send_once(
        spawn_worker, fault_queue, fault_esp, drafter, reviewer, reviewer2, sender):
    from approvals.tasks import dispatch_campaign

    spawn_worker(concurrency=2, **FAST)
    spawn_worker(concurrency=2, **FAST)
    campaign = submitted_campaign(drafter, sender, members(500))
    approve_after_review(campaign, reviewer)
    with pytest.raises(workflow.WorkflowError):
        workflow.approve(campaign, reviewer2, campaign.submitted_hash)
    dispatch_campaign.delay(campaign.pk)
    dispatch_campaign.delay(campaign.pk)
    engine.start(campaign.pk)  # and a third start from this process
    wait_until_finished(campaign.pk)

    statuses = ledger_matches_esp(campaign, fault_esp)
    assert statuses[Status.SENT] == 500


def not_sent(campaign: Campaign) -> list[tuple[str, str, str, int]]:
    """For a failure message: what happened to the deliveries that were not sent."""
    rows = campaign.deliveries.exclude(status=Status.SENT).values_list("email", "status", "error", "attempts")
    return list(rows)


def busiest_second(times: list[float]) -> int:
    ordered = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(ordered):
        while t - ordered[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def restart_redis() -> None:
    """Kill Redis (it keeps nothing on disk here) and start it again as the machine does."""
    connection.close()
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "shutdown", "nosave"], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    subprocess.run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379",
                    "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis",
                    "--logfile", "/var/log/redis/ci.log"], check=True)
    wait_for(lambda: subprocess.run(["redis-cli", "-h", "127.0.0.1", "ping"], capture_output=True,
                                    text=True).stdout.strip() == "PONG", message="Redis to come back")
