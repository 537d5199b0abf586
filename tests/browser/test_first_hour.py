"""A newcomer's first hour in a real browser: submit without Save keeps what was typed, the reviewer
reads From and To as the recipient will, and the timeline speaks Japanese and English."""

import pytest

from approvals.models import Campaign
from tests.browser.test_journey import type_a_draft
from tests.conftest import sign_in

pytestmark = pytest.mark.browser


def draft_without_saving(page) -> None:
    """Upload the list, pick the sender, type subject and body, and never press Save."""
    type_a_draft(page, "会報 12月号", "{{氏名}} 様 会報12月号のお知らせ", "{{氏名}} 様\n\n12月号をお送りします。")


def test_submit_without_save_keeps_the_typed_message(new_page, live_server, drafter, sender):
    page = new_page()
    sign_in(page, "drafter", "pw-drafter")
    draft_without_saving(page)
    page.click("#submit-for-review")
    page.wait_for_selector("[data-state=in_review]")
    campaign = Campaign.objects.get()
    assert campaign.state == Campaign.State.IN_REVIEW
    assert campaign.subject == "{{氏名}} 様 会報12月号のお知らせ"
    assert campaign.body_text.replace("\r\n", "\n") == "{{氏名}} 様\n\n12月号をお送りします。"
    assert campaign.sender == sender


def test_submit_without_save_that_is_refused_shows_the_typed_text_again(new_page, live_server, drafter, sender):
    page = new_page()
    sign_in(page, "drafter", "pw-drafter")
    draft_without_saving(page)
    page.fill("#message-form textarea[name=body_text]", "{{住所}} 様")  # a column the list does not have
    page.click("#submit-for-review")
    page.wait_for_selector("#findings [data-code='merge.unknown_field']")
    assert page.input_value("#message-form input[name=subject]") == "{{氏名}} 様 会報12月号のお知らせ"
    assert page.input_value("#message-form textarea[name=body_text]") == "{{住所}} 様"
    assert Campaign.objects.get().state == Campaign.State.DRAFT


def test_reviewer_reads_from_and_to_decoded_and_can_open_the_encoded_header(
        new_page, live_server, drafter, reviewer, sender):
    page = new_page()
    sign_in(page, "drafter", "pw-drafter")
    draft_without_saving(page)
    page.click("#submit-for-review")
    page.wait_for_selector("[data-state=in_review]")
    campaign = Campaign.objects.get()

    review = new_page()
    sign_in(review, "reviewer", "pw-reviewer")
    review.goto(f"/review/{campaign.pk}/")
    sender_row = review.locator("#header-preview tr[data-header=From]")
    recipient_row = review.locator("#header-preview tr[data-header=To]")
    assert sender_row.locator(".header-value").inner_text() == "市役所 広報課 <koho@city.example.jp>"
    assert recipient_row.locator(".header-value").inner_text() == "山田 太郎 <taro.yamada@example.com>"
    raw = sender_row.locator("details code")
    assert not raw.is_visible()
    sender_row.locator("details summary").click()
    assert raw.is_visible() and raw.inner_text().startswith("=?utf-8?b?")
    assert raw.inner_text().endswith("<koho@city.example.jp>")


def test_timeline_labels_are_translated_in_both_languages(new_page, live_server, drafter, sender):
    page = new_page()
    sign_in(page, "drafter", "pw-drafter")
    draft_without_saving(page)
    page.click("#message-form button[type=submit]")
    page.wait_for_selector("text=保存しました")
    page.click("text=状況と履歴")
    upload = page.locator("#timeline tr[data-action=list_uploaded] .event-label")
    assert upload.inner_text() == "宛先リストのアップロード"
    assert "会員名簿.csv、3 行" in page.locator("#timeline tr[data-action=list_uploaded] .event-note").inner_text()
    labels = page.locator("#timeline .event-label").all_inner_texts()
    assert "list_uploaded" not in labels and "edited" not in labels

    page.click("nav button[value=en]")
    page.wait_for_selector("html[lang=en]")
    assert upload.inner_text() == "Recipient list uploaded"
    assert "Message edited" in page.locator("#timeline .event-label").all_inner_texts()
