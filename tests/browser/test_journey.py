"""The whole journey in a real browser: drafter → reviewer → worker → fake ESP → auditor."""

import csv
import io
from email.utils import getaddresses

import pytest

from approvals.models import Campaign
from tests.conftest import sign_in, wait_for
from tests.samples import NEWSLETTER_PDF

pytestmark = [pytest.mark.browser, pytest.mark.worker]

MEMBERS = [
    ("山田 太郎", "taro.yamada@example.com"),
    ("髙橋 花子", "hanako.takahashi@example.org"),
    ("佐藤 一郎", "ichiro.sato@example.net"),
]
PDF = NEWSLETTER_PDF


def cp932_csv() -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["氏名", "メールアドレス"])
    writer.writerows(MEMBERS)
    return buffer.getvalue().encode("cp932")


def type_a_draft(page, name: str, subject: str, body: str) -> None:
    """Create a campaign, upload the members' list, pick the sender and type the message (unsaved)."""
    page.click("#new-campaign")
    page.fill("input[name=name]", name)
    page.click("#create-form button[type=submit]")
    page.set_input_files("#list-form input[type=file]", files=[
        {"name": "会員名簿.csv", "mimeType": "text/csv", "buffer": cp932_csv()}])
    page.click("#list-form button[type=submit]")
    page.wait_for_selector("text=taro.yamada@example.com")
    page.select_option("#message-form select[name=sender]", label="市役所 広報課 <koho@city.example.jp>")
    page.fill("#message-form input[name=subject]", subject)
    page.fill("#message-form textarea[name=body_text]", body)


def draft_and_submit(page) -> int:
    type_a_draft(page, "会報 11月号", "{{氏名}} 様 会報のお知らせ", "{{氏名}} 様\n\n11月号をお送りします。")
    page.click("#message-form button[type=submit]")
    page.set_input_files("#attachment-form input[type=file]", files=[
        {"name": "kaiho-11.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.click("#attachment-form button[type=submit]")
    page.wait_for_selector("text=kaiho-11.pdf")
    page.click("#submit-for-review")
    page.wait_for_selector("[data-state=in_review]")
    return int(page.url.rstrip("/").split("/")[-1])


def review_and_approve(page, campaign_id: int) -> None:
    page.click(f"a[href='/review/{campaign_id}/']")
    assert "山田 太郎 様" in page.inner_text("#preview-text")
    assert "taro.yamada@example.com" in page.inner_text("#header-preview")
    page.click("#next-recipient")
    assert "髙橋 花子 様" in page.inner_text("#preview-text")
    with page.expect_download() as download:
        page.click("text=kaiho-11.pdf")
    assert open(download.value.path(), "rb").read() == PDF
    # The server lists what is still unopened; the approve button stays disabled until then.
    while page.locator("#missing-evidence a").count():
        assert page.is_disabled("#approve-button")
        page.locator("#missing-evidence a").first.click()
        page.wait_for_load_state()
    page.click("#approve-button")
    page.wait_for_selector("#approved-by")


def test_drafter_reviewer_worker_auditor_journey(new_page, worker, esp, drafter, reviewer, auditor, sender):
    drafter_page = new_page()
    sign_in(drafter_page, "drafter", "pw-drafter")
    campaign_id = draft_and_submit(drafter_page)

    reviewer_page = new_page()
    sign_in(reviewer_page, "reviewer", "pw-reviewer")
    review_and_approve(reviewer_page, campaign_id)

    wait_for(lambda: Campaign.objects.get(pk=campaign_id).state == Campaign.State.SENT,
             message="the campaign to be sent")
    assert esp.accepted_by_recipient() == {email: 1 for _, email in MEMBERS}
    for name, email in MEMBERS:
        [message] = esp.messages_to(email)
        assert [addr for _, addr in getaddresses([message.to])] == [email]
        assert f"{name} 様" in message.text_body
        assert all(other not in message.text_body for n, other in MEMBERS if other != email)
        assert [a.content for a in message.attachments] == [PDF]

    from approvals.tasks import checkpoint_audit

    checkpoint_audit()  # what beat does hourly: the auditor's page shows the last verification
    auditor_page = new_page()
    sign_in(auditor_page, "auditor", "pw-auditor")
    row = auditor_page.locator(f"tr[data-campaign='{campaign_id}']")
    assert row.locator(".approver").inner_text() == "reviewer"
    assert row.locator(".sent-count").inner_text() == "3"
    assert auditor_page.get_attribute("#chain-state", "data-ok") == "true"
