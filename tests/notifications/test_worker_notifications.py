"""End to end: the workflow's audit events are committed, the real hook plans the notifications,
the real Celery worker sends them through the system-mail backend (the .eml outbox here), and we
read what arrived. Campaign mail goes to the fake ESP and never mixes with them."""

import pytest

from approvals import workflow
from approvals.models import Campaign, SystemMail
from approvals.notifications.kinds import Kind
from approvals.notifications.tasks import send_daily_digest
from approvals.profiles import profile_of
from tests.conftest import wait_for
from tests.factories import approve_after_review, members, submitted_campaign
from tests.notifications.helpers import arrived, body_of, subject_of

pytestmark = pytest.mark.worker


def received(user, kind: str, campaign: Campaign | None = None, timeout: float = 90):
    """Wait until the notification is in the outbox; return the message as the person's mail program reads it."""
    def find():
        rows = SystemMail.objects.filter(user=user, kind=kind, status=SystemMail.Status.SENT)
        if campaign is not None:
            rows = rows.filter(campaign=campaign)
        row = rows.first()
        return arrived(row) if row else None
    return wait_for(find, timeout=timeout, message=f"{kind} to arrive for {user}")


def finished(campaign: Campaign) -> bool:
    campaign.refresh_from_db()
    return campaign.state in (Campaign.State.SENT, Campaign.State.PARTLY_FAILED)


def test_review_rejection_approval_and_sending_each_reach_the_right_person(
        worker, esp, drafter, reviewer, reviewer2, sender):
    english = profile_of(reviewer2)
    english.language = "en"
    english.save()
    rows = members(4)
    campaign = submitted_campaign(drafter, sender, rows, name="会報 2月号")

    waiting = received(reviewer, Kind.REVIEW_WAITING, campaign)
    assert subject_of(waiting) == "[MailGuard] レビュー待ち: 会報 2月号"
    assert f"/review/{campaign.pk}/" in body_of(waiting)
    assert subject_of(received(reviewer2, Kind.REVIEW_WAITING, campaign)) == \
        "[MailGuard] Waiting for your review: 会報 2月号"

    workflow.reject(campaign, reviewer, "2ページ目の日付が違います。")
    rejected = received(drafter, Kind.REJECTED, campaign)
    assert "2ページ目の日付が違います。" in body_of(rejected)

    workflow.submit(campaign, drafter)
    approve_after_review(campaign, reviewer2)
    assert "reviewer2" in body_of(received(drafter, Kind.APPROVED, campaign))
    received(drafter, Kind.SENDING_STARTED, campaign)
    done = received(drafter, Kind.SENDING_FINISHED, campaign)
    assert "4" in body_of(done)

    assert esp.accepted_by_recipient() == {r["メールアドレス"]: 1 for r in rows}  # no notification in there
    assert not SystemMail.objects.exclude(status=SystemMail.Status.SENT).exists()


def test_a_failure_is_mandatory_news_and_the_auditor_gets_the_digest(worker, esp, drafter, reviewer, auditor, sender):
    profile = profile_of(drafter)
    profile.muted_notifications = [Kind.SENDING_STARTED, Kind.SENDING_FINISHED, Kind.PARTLY_FAILED]
    profile.save()
    rows = members(3)
    esp.reject_recipients([rows[2]["メールアドレス"]])
    campaign = approve_after_review(submitted_campaign(drafter, sender, rows, name="会報 3月号"), reviewer)
    wait_for(lambda: finished(campaign), message="the campaign to finish")
    assert campaign.state == Campaign.State.PARTLY_FAILED

    failed = received(drafter, Kind.PARTLY_FAILED, campaign)  # turned off, but mandatory
    assert "2" in body_of(failed) and "1" in body_of(failed)
    assert not SystemMail.objects.filter(user=drafter, kind=Kind.SENDING_STARTED).exists()

    send_daily_digest.delay()
    digest = received(auditor, Kind.DAILY_DIGEST)
    assert "会報 3月号: 2" in body_of(digest) and "会報 3月号: 1" in body_of(digest)
