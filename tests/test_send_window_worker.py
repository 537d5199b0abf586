"""The real worker keeps a campaign waiting until its send window opens, even when the web process
dispatched it at once, then sends it; nothing leaves before the window."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals.models import Campaign, Delivery
from mailguard.celery import app
from tests.conftest import wait_for
from tests.factories import approve_after_review, members, submitted_campaign

pytestmark = pytest.mark.worker

QUEUE = "send-window"
# Time for the worker to start and refuse the first dispatch before the window opens.
LEAD_SECONDS = 45
ALL_DAYS = "mon,tue,wed,thu,fri,sat,sun"


@pytest.fixture
def window_queue():
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = QUEUE
    app.control.purge()
    yield
    app.conf.task_default_queue = previous


def window_opening_at(opens) -> dict[str, str]:
    now = timezone.localtime()
    days = ALL_DAYS if opens.date() == now.date() else opens.strftime("%a").lower()
    return {"MAILGUARD_SEND_WINDOW": f"{opens:%H:%M:%S}-24:00", "MAILGUARD_SEND_DAYS": days,
            "MAILGUARD_SEND_HOLIDAYS": "", "MAILGUARD_CELERY_QUEUE": QUEUE}


def test_worker_waits_for_the_send_window_then_sends(spawn_worker, window_queue, esp, client_for, drafter,
                                                      reviewer, sender):
    opens = (timezone.localtime() + timedelta(seconds=LEAD_SECONDS)).replace(microsecond=0)
    spawn_worker(**window_opening_at(opens))
    rows = members(5)
    campaign = submitted_campaign(drafter, sender, rows)

    approve_after_review(campaign, reviewer)  # this process has no window: it dispatches at once

    wait_for(lambda: Campaign.objects.get(pk=campaign.pk).send_after == opens,
             message="the worker to postpone the start to the window")
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.APPROVED
    assert not esp.messages()
    page = client_for(drafter).get(reverse("campaign_detail", args=[campaign.pk])).content.decode()
    assert f"{opens:%Y-%m-%d %H:%M:%S}" in page

    wait_for(lambda: Campaign.objects.get(pk=campaign.pk).state == Campaign.State.SENT,
             timeout=LEAD_SECONDS + 120, message="the campaign to be sent once the window opened")
    assert esp.accepted_by_recipient() == {r["メールアドレス"]: 1 for r in rows}
    first_sent = min(Delivery.objects.filter(campaign=campaign).values_list("sent_at", flat=True))
    assert first_sent >= opens
    started = campaign.events.get(action="sending_started").created_at
    assert started >= opens
