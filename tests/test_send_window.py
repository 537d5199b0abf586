"""Send windows: the arithmetic across weekends, Japanese public holidays and the hour boundaries,
and what it does to approval, the worker, the beat sweep and the pages."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils import timezone

from approvals import send_window, tasks, workflow
from approvals.delivery import engine
from approvals.models import Campaign
from tests.factories import approve_after_review, approved_campaign, members, submitted_campaign

TOKYO = ZoneInfo("Asia/Tokyo")
State = Campaign.State


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TOKYO)


@pytest.fixture
def office_hours(settings):
    settings.MAILGUARD = {**settings.MAILGUARD, "SEND_WINDOW": "09:00-18:00", "SEND_DAYS": "mon,tue,wed,thu,fri",
                          "SEND_HOLIDAYS": "JP", "SEND_CLOSED_DATES": "12-29,12-30,12-31,01-02,01-03"}


# --- The arithmetic ---------------------------------------------------------------------------


@pytest.mark.parametrize(("moment", "opens"), [
    ("2025-06-10 08:59:59", "2025-06-10 09:00:00"),  # Tuesday, just before opening
    ("2025-06-10 09:00:00", "2025-06-10 09:00:00"),  # the start is inside
    ("2025-06-10 17:59:59", "2025-06-10 17:59:59"),  # the last second is inside
    ("2025-06-10 18:00:00", "2025-06-11 09:00:00"),  # the end is outside: next morning
    ("2025-06-13 18:30:00", "2025-06-16 09:00:00"),  # Friday evening → Monday
    ("2025-06-14 12:00:00", "2025-06-16 09:00:00"),  # Saturday noon → Monday
    ("2025-06-15 23:59:59", "2025-06-16 09:00:00"),  # Sunday night → Monday
    ("2025-01-10 18:00:00", "2025-01-14 09:00:00"),  # Friday before 成人の日 (Mon 13th) → Tuesday
    ("2025-05-02 18:00:00", "2025-05-07 09:00:00"),  # Golden Week: 3–6 May, 6th a substitute holiday
    ("2025-09-22 10:00:00", "2025-09-22 10:00:00"),  # an ordinary Monday
    ("2025-09-23 10:00:00", "2025-09-24 09:00:00"),  # 秋分の日 (Tuesday)
    ("2025-11-24 10:00:00", "2025-11-25 09:00:00"),  # 勤労感謝の日 fell on Sunday: Monday is a substitute
    ("2025-12-26 18:00:00", "2026-01-05 09:00:00"),  # year-end closing, New Year's Day, weekend
    ("2026-09-22 08:00:00", "2026-09-24 09:00:00"),  # 敬老の日 21st, 国民の休日 22nd, 秋分の日 23rd
])
def test_next_open_across_weekends_holidays_and_hour_boundaries(office_hours, moment, opens):
    assert send_window.next_open(at(moment)) == at(opens)
    assert send_window.is_open(at(moment)) == (moment == opens)


def test_times_in_utc_are_read_in_local_time(office_hours):
    # 23:30 UTC on Monday is 08:30 on Tuesday in Tokyo.
    moment = datetime(2025, 6, 9, 23, 30, tzinfo=ZoneInfo("UTC"))
    assert send_window.next_open(moment) == at("2025-06-10 09:00")


def test_without_a_window_every_moment_is_open(settings):
    settings.MAILGUARD = {**settings.MAILGUARD, "SEND_WINDOW": ""}
    sunday_night = at("2025-06-15 03:00")
    assert send_window.is_open(sunday_night) and send_window.next_open(sunday_night) == sunday_night


def test_holidays_can_be_left_out_and_any_day_chosen(settings):
    settings.MAILGUARD = {**settings.MAILGUARD, "SEND_WINDOW": "10:00-24:00", "SEND_DAYS": "sat,sun",
                          "SEND_HOLIDAYS": "", "SEND_CLOSED_DATES": ""}
    assert send_window.next_open(at("2025-06-13 12:00")) == at("2025-06-14 10:00")
    assert send_window.is_open(at("2025-06-14 23:59:59"))
    assert send_window.next_open(at("2025-06-15 23:59:59")) == at("2025-06-15 23:59:59")
    assert send_window.next_open(at("2025-06-16 00:00")) == at("2025-06-21 10:00")


@pytest.mark.parametrize(("field", "value"), [
    ("SEND_WINDOW", "9-18"), ("SEND_WINDOW", "18:00-09:00"), ("SEND_DAYS", "mon,funday"), ("SEND_DAYS", ""),
    ("SEND_CLOSED_DATES", "13-01"),
])
def test_settings_that_cannot_be_read_are_refused_with_a_clear_message(settings, field, value):
    settings.MAILGUARD = {**settings.MAILGUARD, "SEND_WINDOW": "09:00-18:00", field: value}
    with pytest.raises(ImproperlyConfigured, match=f"MAILGUARD_{field}"):
        send_window.configured()
    assert [error.id for error in send_window.system_check()] == ["mailguard.E001"]


def test_the_description_names_hours_days_and_holidays(office_hours):
    assert send_window.describe() == "09:00–18:00 on Mon, Tue, Wed, Thu, Fri, not on public holidays, " \
                                     "not on 1/2, 1/3, 12/29, 12/30, 12/31"


# --- What it does to campaigns ---------------------------------------------------------------


def closed_today(settings):
    """A window that is closed for all of today (only other weekdays are working days)."""
    today = timezone.localtime().weekday()
    days = ",".join(name for index, name in enumerate(send_window.DAY_NAMES) if index != today)
    settings.MAILGUARD = {**settings.MAILGUARD, "SEND_WINDOW": "00:00-24:00", "SEND_DAYS": days,
                          "SEND_HOLIDAYS": "", "SEND_CLOSED_DATES": ""}
    return send_window.next_open(timezone.now())


def test_approval_outside_the_window_sets_the_start_at_the_next_opening(settings, drafter, reviewer, sender):
    opens = closed_today(settings)
    campaign = approved_campaign(drafter, reviewer, sender, members(3))
    assert campaign.send_after == opens
    assert opens.date() == timezone.localdate() + timedelta(days=1)


def test_the_worker_and_the_sweep_do_not_start_early(settings, drafter, reviewer, sender, esp):
    closed_today(settings)
    campaign = approved_campaign(drafter, reviewer, sender, members(3))
    Campaign.objects.filter(pk=campaign.pk).update(send_after=timezone.now() - timedelta(seconds=1))
    tasks.sweep_deliveries()  # what beat runs: the campaign is due by its hold, not by its window
    assert engine.start(campaign.pk) is False
    campaign.refresh_from_db()
    assert campaign.state == State.APPROVED and not esp.messages()


def test_a_sending_campaign_stops_claiming_when_the_window_closes(settings, drafter, reviewer, sender, esp):
    campaign = approved_campaign(drafter, reviewer, sender, members(4))
    assert engine.start(campaign.pk)
    closed_today(settings)
    report = engine.send_batch(campaign.pk)
    assert (report.handled, report.again_in) == (0, None)
    assert not esp.messages()
    settings.MAILGUARD = {**settings.MAILGUARD, "SEND_WINDOW": ""}
    while engine.send_batch(campaign.pk).again_in == 0:
        pass
    campaign.refresh_from_db()
    assert campaign.state == State.SENT and len(esp.messages()) == 4


def test_the_reviewer_sees_the_expected_start_before_approving(client_for, settings, drafter, reviewer, sender):
    opens = closed_today(settings)
    campaign = submitted_campaign(drafter, sender, members(2))
    page = client_for(reviewer).get(reverse("review", args=[campaign.pk])).content.decode()
    assert f'id="expected-start" data-at="{timezone.localtime(opens).isoformat()}"' in page
    assert f"If you approve now, sending starts at {timezone.localtime(opens):%Y-%m-%d %H:%M}" in page


def test_the_campaign_page_says_when_it_starts_and_that_it_waits_for_the_window(
        client_for, settings, drafter, reviewer, sender):
    opens = closed_today(settings)
    campaign = approved_campaign(drafter, reviewer, sender, members(2))
    page = client_for(drafter).get(reverse("campaign_detail", args=[campaign.pk])).content.decode()
    assert f'data-at="{timezone.localtime(opens).isoformat()}"' in page
    assert 'id="window-wait"' in page and "It waits for the send window" in page


def test_a_paused_campaign_resumed_outside_the_window_says_when_it_continues(
        client_for, settings, drafter, reviewer, sender, esp):
    campaign = approved_campaign(drafter, reviewer, sender, members(3))
    engine.start(campaign.pk)
    workflow.pause(campaign, reviewer, "確認")
    opens = closed_today(settings)
    workflow.resume(campaign, reviewer)
    assert engine.send_batch(campaign.pk).handled == 0
    page = client_for(drafter).get(reverse("campaign_detail", args=[campaign.pk])).content.decode()
    assert f"sending continues at {timezone.localtime(opens):%Y-%m-%d %H:%M}" in page


def test_the_japanese_page_explains_the_wait_in_japanese(settings, drafter, reviewer, sender):
    from django.test import Client

    closed_today(settings)
    campaign = submitted_campaign(drafter, sender, members(2))
    client = Client(headers={"accept-language": "ja"})
    client.force_login(reviewer)
    page = client.get(reverse("review", args=[campaign.pk])).content.decode()
    assert "今承認すると、送信開始は" in page


def test_approval_inside_the_window_starts_after_the_hold(settings, drafter, reviewer, sender):
    settings.MAILGUARD = {**settings.MAILGUARD, "SEND_WINDOW": "00:00-24:00",
                          "SEND_DAYS": ",".join(send_window.DAY_NAMES), "SEND_HOLIDAYS": "", "HOLD_SECONDS": 60}
    campaign = submitted_campaign(drafter, sender, members(2))
    before = timezone.now()
    approve_after_review(campaign, reviewer)
    assert before + timedelta(seconds=60) <= campaign.send_after <= timezone.now() + timedelta(seconds=60)
