"""End to end across processes: approval enqueues on the real broker, a real Celery worker
process sends through anymail to the fake ESP, and the ledger matches what the ESP holds."""

import pytest

from approvals.delivery import ledger
from approvals.models import Campaign, Delivery
from tests.conftest import wait_for
from tests.factories import approve_after_review, members, submitted_campaign

pytestmark = pytest.mark.worker


def finished(campaign_id: int) -> Campaign | None:
    campaign = Campaign.objects.get(pk=campaign_id)
    return campaign if campaign.state in (Campaign.State.SENT, Campaign.State.PARTLY_FAILED) else None


def test_approval_sends_one_message_per_recipient_through_the_worker(worker, esp, drafter, reviewer, sender):
    rows = members(30)
    campaign = submitted_campaign(drafter, sender, rows)
    approve_after_review(campaign, reviewer)

    done = wait_for(lambda: finished(campaign.pk), message="the campaign to finish")

    assert done.state == Campaign.State.SENT
    assert esp.accepted_by_recipient() == {r["メールアドレス"]: 1 for r in rows}
    assert not esp.duplicates()
    ledger = dict(Delivery.objects.filter(campaign=campaign).values_list("email", "esp_message_id"))
    assert ledger == {m.recipients[0]: m.message_id for m in esp.messages()}
    actions = list(done.events.values_list("action", flat=True))
    assert actions[-2:] == ["sending_started", "sending_finished"]


def test_worker_retries_esp_errors_and_still_sends_each_recipient_once(worker, esp, drafter, reviewer, sender):
    rows = members(12)
    esp.fail_ratio(0.3, status=500, seed=7)
    campaign = submitted_campaign(drafter, sender, rows)
    approve_after_review(campaign, reviewer)

    done = wait_for(lambda: finished(campaign.pk), message="the campaign to finish")

    assert done.state == Campaign.State.SENT
    assert esp.accepted_by_recipient() == {r["メールアドレス"]: 1 for r in rows}
    assert Delivery.objects.filter(campaign=campaign, attempts__gt=1).exists()


def test_counters_match_the_rows_after_a_real_worker_sends_with_refusals(worker, esp, drafter, reviewer, sender):
    rows = members(40)
    esp.reject_recipients([rows[3]["メールアドレス"], rows[17]["メールアドレス"]])
    esp.fail_ratio(0.2, status=500, seed=11)
    campaign = submitted_campaign(drafter, sender, rows)
    approve_after_review(campaign, reviewer)
    wait_for(lambda: Campaign.objects.get(pk=campaign.pk).state == Campaign.State.PARTLY_FAILED,
             message="the campaign to finish")
    # The counters pages read, kept by the worker's writes, equal a count of the rows.
    counts = ledger.kept_counts([campaign.pk])[campaign.pk]
    assert counts == ledger.counts(campaign.pk)
    assert counts["failed"] == 2 and counts["sent"] == 38
    assert ledger.rebuild_counts([campaign.pk]) == []
