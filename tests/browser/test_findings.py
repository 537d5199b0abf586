"""Findings in the browser: the drafter is stopped by a blocked attachment, the reviewer must
tick an acknowledge finding by name before the approval goes through."""

import pytest

from approvals.models import Campaign
from tests.browser.test_journey import cp932_csv
from tests.conftest import sign_in
from tests.samples import NEWSLETTER_PDF

pytestmark = pytest.mark.browser


def attach(page, name: str, data: bytes, mime: str) -> None:
    page.set_input_files("#attachment-form input[type=file]", files=[{"name": name, "mimeType": mime, "buffer": data}])
    page.click("#attachment-form button[type=submit]")


def test_blocked_attachment_stops_the_drafter_and_the_reviewer_ticks_the_acknowledgement(
        new_page, live_server, drafter, reviewer, sender):
    page = new_page()
    sign_in(page, "drafter", "pw-drafter")
    page.click("#new-campaign")
    page.fill("input[name=name]", "会報")
    page.click("#create-form button[type=submit]")
    page.set_input_files("#list-form input[type=file]", files=[
        {"name": "members.csv", "mimeType": "text/csv", "buffer": cp932_csv()}])
    page.click("#list-form button[type=submit]")
    page.select_option("#message-form select[name=sender]", label="市役所 広報課 <koho@city.example.jp>")
    page.fill("#message-form input[name=subject]", "{{氏名}} 様")
    page.fill("#message-form textarea[name=body_text]", "{{氏名}} 様\n会報をお送りします。")
    page.click("#message-form button[type=submit]")

    # The recipient list itself, attached by mistake (incident 9): blocked, and submission refused.
    attach(page, "members.csv", cp932_csv(), "text/csv")
    assert page.locator("#findings [data-code='attachment.is_the_list']").count() == 1
    page.click("#submit-for-review")
    campaign = Campaign.objects.get()
    assert campaign.state == Campaign.State.DRAFT
    page.locator("#attachment-form").locator("xpath=..").locator("text=削除").first.click()

    # A newsletter whose name looks like a list: the reviewer must acknowledge it.
    attach(page, "会員名簿.pdf", NEWSLETTER_PDF, "application/pdf")
    page.click("#submit-for-review")
    page.wait_for_selector("[data-state=in_review]")

    review = new_page()
    sign_in(review, "reviewer", "pw-reviewer")
    review.goto(f"/review/{campaign.pk}/")
    assert review.locator("#findings [data-code='attachment.looks_like_a_list']").count() == 1
    with review.expect_download():
        review.click("#review-attachments a")
    while review.locator("#missing-evidence a").count():
        review.locator("#missing-evidence a").first.click()
        review.wait_for_load_state()
    review.click("#approve-button")  # without the tick: refused
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.IN_REVIEW
    review.check("#approve-form input[name=acknowledge]")
    review.click("#approve-button")
    review.wait_for_selector("#approved-by")
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.APPROVED
    assert campaign.reviews.get().acknowledged
