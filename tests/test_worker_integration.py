"""End to end across processes: approval enqueues on the real broker, a real Celery worker
process sends through anymail to the fake ESP, and the ledger matches what the ESP holds."""

import pytest

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
