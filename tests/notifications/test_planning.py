"""Who is told what: one ledger row per person and occasion, in their language, never twice, never
for a kind they turned off (unless it is mandatory), and a visible failure for a missing address."""

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals import audit, notifications, workflow
from approvals.delivery import engine
from approvals.models import ApprovalPolicy, Campaign, SystemMail
from approvals.notifications import planning, scheduled
from approvals.notifications.kinds import Kind
from approvals.profiles import profile_of
from approvals.roles import Role
from tests.conftest import make_user
from tests.factories import approve_after_review, approved_campaign, members, submitted_campaign
from tests.notifications.helpers import plan_after

State = Campaign.State


def kinds_to(rows, user) -> list[str]:
    return [row.kind for row in rows if row.user_id == user.pk]


def test_audit_record_hands_each_committed_event_to_notifications(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        event = audit.record("submitted")
    [hook] = callbacks
    assert hook.func is notifications.event_recorded and hook.args == (event.pk, "submitted")


def test_submission_tells_every_reviewer_but_the_drafter(db, django_user_model, drafter, reviewer, reviewer2,
                                                        sender):
    both = make_user(django_user_model, "both", Role.DRAFTER, Role.REVIEWER)
    campaign = submitted_campaign(both, sender, members(3))
    rows = plan_after("submitted", campaign)
    assert sorted(row.user.username for row in rows) == ["reviewer", "reviewer2"]
    assert {row.kind for row in rows} == {Kind.REVIEW_WAITING}
    assert all(f"/review/{campaign.pk}/" in row.body for row in rows)
    assert all(row.status == SystemMail.Status.QUEUED and row.campaign == campaign for row in rows)


def test_each_person_reads_their_own_language(drafter, reviewer, reviewer2, sender):
    english = profile_of(reviewer2)
    english.language = "en"
    english.save()
    campaign = submitted_campaign(drafter, sender, members(2), name="会報 12月号")
    rows = {row.user.username: row for row in plan_after("submitted", campaign)}
    assert rows["reviewer"].subject == "[MailGuard] レビュー待ち: 会報 12月号"
    assert rows["reviewer2"].subject == "[MailGuard] Waiting for your review: 会報 12月号"
    assert (rows["reviewer"].language, rows["reviewer2"].language) == ("ja", "en")


def test_the_same_event_never_mails_anyone_twice(drafter, reviewer, sender):
    campaign = submitted_campaign(drafter, sender, members(2))
    first = plan_after("submitted", campaign)
    second = plan_after("submitted", campaign)
    assert len(first) == 1 and second == first


def test_a_kind_turned_off_is_not_sent_but_a_mandatory_one_is(drafter, reviewer, sender):
    profile = profile_of(drafter)
    profile.muted_notifications = [Kind.APPROVED, Kind.REJECTED]  # REJECTED is mandatory: ignored
    profile.save()
    campaign = submitted_campaign(drafter, sender, members(2))
    workflow.reject(campaign, reviewer, "宛先を確認してください")
    assert kinds_to(plan_after("rejected", campaign), drafter) == [Kind.REJECTED]
    workflow.submit(campaign, drafter)
    approve_after_review(campaign, reviewer)
    assert plan_after("approved", campaign) == []


def test_rejection_carries_the_reviewers_words(drafter, reviewer, sender):
    campaign = submitted_campaign(drafter, sender, members(2))
    workflow.reject(campaign, reviewer, "件名の日付が違います。\n11月ではなく12月です。")
    [row] = plan_after("rejected", campaign)
    assert "件名の日付が違います。\n11月ではなく12月です。" in row.body and "reviewer" in row.body


def test_approval_tells_when_the_hold_ends(settings, drafter, reviewer, sender):
    settings.MAILGUARD = {**settings.MAILGUARD, "HOLD_SECONDS": 600}
    campaign = approved_campaign(drafter, reviewer, sender, members(2))
    [row] = plan_after("approved", campaign)
    hold_end = timezone.localtime(campaign.approved_at + timedelta(seconds=600))
    assert f"{hold_end:%Y-%m-%d %H:%M}" in row.body


def test_a_partial_approval_asks_the_other_reviewers(db, django_user_model, drafter, reviewer, reviewer2, sender):
    third = make_user(django_user_model, "reviewer3", Role.REVIEWER)
    ApprovalPolicy.objects.create(recipients_above=1)
    campaign = submitted_campaign(drafter, sender, members(2))
    approve_after_review(campaign, reviewer)
    rows = plan_after("approval_recorded", campaign)
    assert {row.user for row in rows} == {reviewer2, third}
    assert all(row.kind == Kind.SECOND_APPROVAL and "（2 件中 1 件）" in row.body for row in rows)


def test_sending_started_and_finished(drafter, reviewer, sender, esp):
    campaign = approved_campaign(drafter, reviewer, sender, members(3))
    engine.start(campaign.pk)
    assert kinds_to(plan_after("sending_started", campaign), drafter) == [Kind.SENDING_STARTED]
    while engine.send_batch(campaign.pk).again_in == 0:
        pass
    [row] = plan_after("sending_finished", campaign)
    assert row.kind == Kind.SENDING_FINISHED and "3" in row.body


def test_failures_are_reported_as_partly_failed(drafter, reviewer, sender, esp):
    rows = members(3)
    esp.reject_recipients([rows[1]["メールアドレス"]])
    campaign = approved_campaign(drafter, reviewer, sender, rows)
    engine.start(campaign.pk)
    while engine.send_batch(campaign.pk).again_in == 0:
        pass
    [row] = plan_after("sending_finished", campaign)
    assert row.kind == Kind.PARTLY_FAILED


def test_in_doubt_asks_the_drafter_and_the_approver_for_a_decision(drafter, reviewer, reviewer2, sender):
    campaign = approved_campaign(drafter, reviewer, sender, members(2))
    engine.start(campaign.pk)
    campaign.deliveries.update(status="in_doubt")
    engine.sweep()
    rows = plan_after("sending_finished", campaign)
    assert sorted(kinds_to(rows, drafter) + kinds_to(rows, reviewer)) == [Kind.IN_DOUBT, Kind.IN_DOUBT]
    assert not kinds_to(rows, reviewer2)


def test_an_automatic_pause_says_why_and_a_persons_pause_is_not_mailed(drafter, reviewer, sender):
    from approvals import transitions

    campaign = approved_campaign(drafter, reviewer, sender, members(2))
    engine.start(campaign.pk)
    transitions.pause_automatically(campaign, "ESP refused 20 messages in a row")
    [row] = plan_after("paused", campaign)
    assert row.kind == Kind.AUTO_PAUSED and "ESP refused 20 messages in a row" in row.body
    workflow.resume(campaign, reviewer)
    workflow.pause(campaign, reviewer, "確認のため")
    assert plan_after("paused", campaign) == []


def test_refused_content_tells_drafter_and_approver(drafter, reviewer, sender):
    campaign = approved_campaign(drafter, reviewer, sender, members(2))
    Campaign.objects.filter(pk=campaign.pk).update(subject="書き換え")
    engine.start(campaign.pk)
    rows = plan_after("send_refused_content_changed", campaign)
    assert {row.user for row in rows} == {drafter, reviewer}
    assert {row.kind for row in rows} == {Kind.SEND_REFUSED}


def test_an_account_without_an_address_gets_a_failed_row_not_silence(db, django_user_model, drafter, sender):
    nobody = make_user(django_user_model, "nomail", Role.REVIEWER)
    nobody.email = ""
    nobody.save()
    campaign = submitted_campaign(drafter, sender, members(2))
    [row] = plan_after("submitted", campaign)
    assert row.status == SystemMail.Status.FAILED and "メールアドレスがありません" in row.error


def test_subjects_stay_on_one_line_whatever_the_campaign_is_called(drafter, reviewer, sender):
    campaign = submitted_campaign(drafter, sender, members(2), name="会報\r\nBcc: everyone@example.com")
    [row] = plan_after("submitted", campaign)
    assert "\n" not in row.subject and "\r" not in row.subject


# --- Scheduled: reminders, expiry, digest ------------------------------------------------------


def test_a_reminder_goes_once_to_reviewers_who_have_not_approved(settings, drafter, reviewer, reviewer2, sender):
    settings.MAILGUARD = {**settings.MAILGUARD, "REVIEW_REMINDER_HOURS": 24, "REVIEW_EXPIRY_DAYS": 7}
    ApprovalPolicy.objects.create(recipients_above=1)
    campaign = submitted_campaign(drafter, sender, members(2))
    approve_after_review(campaign, reviewer)
    assert scheduled.send_review_reminders(timezone.now() + timedelta(hours=23)) == []
    later = timezone.now() + timedelta(hours=25)
    [row] = scheduled.send_review_reminders(later)
    assert (row.user, row.kind) == (reviewer2, Kind.REVIEW_REMINDER)
    assert scheduled.send_review_reminders(later + timedelta(hours=1)) == []


def test_an_unreviewed_request_expires_back_to_draft_audited(settings, drafter, reviewer, sender):
    settings.MAILGUARD = {**settings.MAILGUARD, "REVIEW_EXPIRY_DAYS": 3}
    campaign = submitted_campaign(drafter, sender, members(2))
    assert scheduled.expire_review_requests(timezone.now() + timedelta(days=2)) == []
    assert scheduled.expire_review_requests(timezone.now() + timedelta(days=3, minutes=1)) == [campaign.pk]
    campaign.refresh_from_db()
    assert campaign.state == State.DRAFT
    event = campaign.events.get(action="review_expired")
    assert event.actor is None and event.details == {"days": 3}
    [row] = plan_after("review_expired", campaign)
    assert (row.user, row.kind) == (drafter, Kind.REVIEW_EXPIRED)
    workflow.submit(campaign, drafter)  # the drafter can submit it again
    campaign.refresh_from_db()
    assert campaign.state == State.IN_REVIEW


def test_reminders_and_expiry_can_be_turned_off(settings, drafter, reviewer, sender):
    settings.MAILGUARD = {**settings.MAILGUARD, "REVIEW_REMINDER_HOURS": 0, "REVIEW_EXPIRY_DAYS": 0}
    submitted_campaign(drafter, sender, members(2))
    far = timezone.now() + timedelta(days=60)
    assert scheduled.send_review_reminders(far) == [] and scheduled.expire_review_requests(far) == []


def test_the_daily_digest_lists_sent_failed_and_in_doubt_for_auditors(drafter, reviewer, auditor, sender, esp):
    rows = members(4)
    esp.reject_recipients([rows[0]["メールアドレス"]])
    campaign = approved_campaign(drafter, reviewer, sender, rows, name="12月の会報")
    engine.start(campaign.pk)
    while engine.send_batch(campaign.pk).again_in == 0:
        pass
    [row] = scheduled.send_daily_digest(timezone.now() + timedelta(minutes=1))
    assert (row.user, row.kind) == (auditor, Kind.DAILY_DIGEST)
    assert "12月の会報: 3" in row.body and "12月の会報: 1" in row.body
    assert f"/audit/{campaign.pk}/" in row.body
    assert scheduled.send_daily_digest(timezone.now() + timedelta(minutes=2)) == []  # one per day


def test_no_digest_on_a_day_when_nothing_happened(auditor):
    assert scheduled.send_daily_digest() == []


def test_lost_tasks_are_queued_again(drafter, reviewer, sender):
    campaign = submitted_campaign(drafter, sender, members(2))
    [row] = plan_after("submitted", campaign)
    assert scheduled.requeue_waiting_mail(timezone.now()) == 0  # its own task is still on the way
    assert scheduled.requeue_waiting_mail(timezone.now() + timedelta(minutes=2)) == 1
    SystemMail.objects.filter(pk=row.pk).update(status="sending", claimed_at=timezone.now() - timedelta(hours=1))
    scheduled.requeue_waiting_mail(timezone.now() + timedelta(minutes=2))
    row.refresh_from_db()
    assert row.status == SystemMail.Status.QUEUED


@pytest.mark.parametrize("action", ["created", "edited", "list_uploaded", "resumed", "cancelled"])
def test_events_nobody_needs_to_hear_about_plan_nothing(db, action):
    event = audit.record(action)
    notifications.event_recorded(event.pk, action)
    assert not SystemMail.objects.exists()
    assert action not in planning.PLANNERS


def test_plain_text_mail_keeps_what_the_drafter_typed(drafter, reviewer, sender):
    campaign = submitted_campaign(drafter, sender, members(2), name="A&B <会報> \"特別号\"")
    [row] = plan_after("submitted", campaign)
    assert row.subject == "[MailGuard] レビュー待ち: A&B <会報> \"特別号\""
    assert "「A&B <会報> \"特別号\"」" in row.body and "&amp;" not in row.body
