"""In a real browser: the link in a "waiting for review" mail opens the review page (after signing in
if needed), and a campaign that needs two approvals shows "1 of 2" until a second reviewer approves."""

import re

import pytest

from approvals.models import ApprovalPolicy, Campaign, SystemMail
from approvals.notifications.kinds import Kind
from tests.conftest import sign_in, wait_for
from tests.factories import members, submitted_campaign
from tests.notifications.helpers import arrived, body_of

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def link_in_waiting_mail(reviewer, campaign) -> str:
    def mail():
        row = SystemMail.objects.filter(user=reviewer, kind=Kind.REVIEW_WAITING, campaign=campaign,
                                        status=SystemMail.Status.SENT).first()
        return arrived(row) if row else None
    message = wait_for(mail, message="the waiting-for-review mail to arrive")
    return re.search(r"https?://\S+/review/\d+/", body_of(message)).group()


def test_the_link_in_the_waiting_mail_opens_the_review_page(new_page, live_server, settings, worker, drafter,
                                                            reviewer, sender):
    settings.MAILGUARD = {**settings.MAILGUARD, "BASE_URL": live_server.url}
    campaign = submitted_campaign(drafter, sender, members(3), name="会報 4月号")
    link = link_in_waiting_mail(reviewer, campaign)
    assert link == f"{live_server.url}/review/{campaign.pk}/"

    page = new_page()
    page.goto(link)  # not signed in yet: the sign-in page, then straight on to the review
    page.fill("input[name=username]", "reviewer")
    page.fill("input[name=password]", "pw-reviewer")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#header-preview")
    assert page.url == link
    assert "会報 4月号" in page.inner_text("h1")

    signed_in = new_page()
    sign_in(signed_in, "reviewer", "pw-reviewer")
    signed_in.goto(link)
    assert "member00000@example.com" in signed_in.inner_text("#header-preview")


def approve_in_browser(page, campaign_id: int) -> None:
    page.goto(f"/review/{campaign_id}/")
    while page.locator("#missing-evidence a").count():
        page.locator("#missing-evidence a").first.click()
        page.wait_for_load_state()
    page.click("#approve-button")
    page.wait_for_selector("[data-state]")


def test_a_campaign_needing_two_approvals_shows_one_of_two_then_goes(new_page, live_server, worker, esp, drafter,
                                                                     reviewer, reviewer2, sender):
    ApprovalPolicy.objects.create(recipients_above=2)
    rows = members(3)
    campaign = submitted_campaign(drafter, sender, rows)

    first = new_page()
    sign_in(first, "reviewer", "pw-reviewer")
    first.goto(f"/review/{campaign.pk}/")
    assert first.get_attribute("#approval-progress", "data-required") == "2"
    assert "二人の別々のレビュー担当者" in first.inner_text("#approval-progress")
    approve_in_browser(first, campaign.pk)
    assert first.inner_text("#approval-count") == "2 件中 1 件"
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.IN_REVIEW and not esp.messages()
    first.goto(f"/review/{campaign.pk}/")
    assert first.locator("#already-approved").count() == 1 and first.locator("#approve-button").count() == 0

    second = new_page(locale="en-US")
    sign_in(second, "reviewer2", "pw-reviewer2")
    second.goto(f"/review/{campaign.pk}/")
    assert second.inner_text("#approval-count") == "1 of 2"
    approve_in_browser(second, campaign.pk)
    second.wait_for_selector("#approved-by")
    assert "reviewer2" in second.inner_text("#approved-by")

    wait_for(lambda: Campaign.objects.get(pk=campaign.pk).state == Campaign.State.SENT,
             message="the campaign to be sent after the second approval")
    assert esp.accepted_by_recipient() == {r["メールアドレス"]: 1 for r in rows}
