"""In a real browser: a drafter sends a newsletter whose file goes as links; the reviewer sees the
links in the preview; the worker sends; a recipient confirms their address and downloads, then
unsubscribes; the drafter stops all downloads; the auditor reads who downloaded what."""

import pytest

from approvals.models import Campaign, Suppression
from tests.browser.test_journey import MEMBERS, type_a_draft
from tests.conftest import sign_in, wait_for
from tests.links_helpers import PDF, download_paths, unsubscribe_path

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def draft_newsletter_with_links(page) -> int:
    type_a_draft(page, "会報 12月号", "{{氏名}} 様 会報12月号", "{{氏名}} 様\n\n12月号をお届けします。")
    page.check("#message-form input[name=kind][value=newsletter]")
    page.check("#message-form input[name=attachment_delivery][value=links]")
    page.click("#message-form button[type=submit]")
    page.set_input_files("#attachment-form input[type=file]", files=[
        {"name": "kaiho-12.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.click("#attachment-form button[type=submit]")
    page.wait_for_selector("text=kaiho-12.pdf")
    page.click("#submit-for-review")
    page.wait_for_selector("[data-state=in_review]")
    return int(page.url.rstrip("/").split("/")[-1])


def review_and_approve(page, campaign_id: int) -> str:
    """Approve after opening what the server asks for; returns the first recipient's previewed link."""
    page.goto(f"/review/{campaign_id}/?page=1")
    assert "メールマガジン" in page.inner_text("#review-kind")
    assert "List-Unsubscribe=One-Click" in page.inner_text("#header-preview")
    [previewed] = download_paths(page.inner_text("#preview-text"))
    with page.expect_download():
        page.click("#review-attachments a")
    while page.locator("#missing-evidence a").count():
        page.locator("#missing-evidence a").first.click()
        page.wait_for_load_state()
    page.click("#approve-button")
    page.wait_for_selector("#approved-by")
    return previewed


def test_links_and_unsubscribe_through_the_pages(new_page, live_server, worker, esp, drafter, reviewer, auditor,
                                                 sender):
    drafter_page = new_page()
    sign_in(drafter_page, "drafter", "pw-drafter")
    campaign_id = draft_newsletter_with_links(drafter_page)

    reviewer_page = new_page()
    sign_in(reviewer_page, "reviewer", "pw-reviewer")
    previewed = review_and_approve(reviewer_page, campaign_id)
    wait_for(lambda: Campaign.objects.get(pk=campaign_id).state == Campaign.State.SENT,
             message="the campaign to be sent")

    name, address = MEMBERS[0]
    [message] = esp.messages_to(address)
    assert message.attachments == []
    [link] = download_paths(message.text_body)
    assert link == previewed  # what the reviewer saw is what left

    recipient = new_page(locale="ja-JP")  # an outsider: no account, Japanese browser
    recipient.goto(link)
    assert "kaiho-12.pdf" in recipient.inner_text("#download-file")
    assert address not in recipient.content()
    recipient.fill("input[name=address]", MEMBERS[1][1])
    recipient.click("#download-form button[type=submit]")
    assert "一致しません" in recipient.inner_text("#address-error")
    recipient.fill("input[name=address]", address.upper())
    with recipient.expect_download() as download:
        recipient.click("#download-form button[type=submit]")
    assert download.value.suggested_filename == "kaiho-12.pdf"
    assert open(download.value.path(), "rb").read() == PDF

    recipient.goto(unsubscribe_path(message.text_body))
    recipient.click("#unsubscribe-form button[type=submit]")
    recipient.wait_for_selector("#unsubscribed")
    assert Suppression.objects.get(email=address).reason == Suppression.Reason.UNSUBSCRIBED

    drafter_page.goto(f"/campaigns/{campaign_id}/")
    drafter_page.fill("#stop-downloads-form input[name=reason]", "差し替え版を送るため")
    drafter_page.click("#stop-downloads-form button[type=submit]")
    drafter_page.wait_for_selector("#downloads-stopped")
    [other] = esp.messages_to(MEMBERS[2][1])
    recipient.goto(download_paths(other.text_body)[0])
    assert "停止しました" in recipient.inner_text("#refusal")

    auditor_page = new_page()
    sign_in(auditor_page, "auditor", "pw-auditor")
    auditor_page.goto(f"/audit/{campaign_id}/")
    ledger = auditor_page.locator("#download-ledger")
    assert ledger.locator("tr[data-outcome=downloaded]").count() == 1
    assert ledger.locator("tr[data-outcome=wrong_address]").count() == 1
    assert address in ledger.locator("tr[data-outcome=downloaded]").inner_text()
    assert "unsubscribed" in auditor_page.content() or "配信停止" in auditor_page.content()
