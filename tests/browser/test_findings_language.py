"""Findings are read in the reader's language: one campaign, a Japanese and an English reviewer.

The drafter submitted in Japanese; the findings were stored as codes and parameters,
so each reviewer's browser language decides the words. Every flagged pair stays
one click away, on a paged list, while the finding itself quotes only a few.
"""

import pytest
from django.utils import translation

from approvals.models import Campaign
from tests.conftest import sign_in
from tests.factories import submitted_campaign

pytestmark = pytest.mark.browser


def campaign_with_many_pairs(drafter, sender) -> Campaign:
    rows = []
    for i in range(40):  # the same person twice, once mistyped: 40 pairs to acknowledge
        phone = f"090-0000-{i:04d}"
        rows.append({"氏名": f"会員 {i}", "メールアドレス": f"kaiin.tanaka{i}x@example.jp", "電話": phone})
        rows.append({"氏名": f"会員 {i}", "メールアドレス": f"kaiin.tanaak{i}x@example.jp", "電話": phone})
    rows.append({"氏名": "事務局", "メールアドレス": "info@example.jp", "電話": "03-0000-0000"})
    with translation.override("ja"):
        return submitted_campaign(drafter, sender, rows, subject="会報のお知らせ", body="{{氏名}} 様\n会報です。")


@pytest.mark.parametrize(("locale", "expected", "other"), [
    ("ja-JP", "共有アドレスまたはメーリングリストのアドレスのようです", "looks like a shared or list address"),
    ("en-US", "looks like a shared or list address", "共有アドレスまたはメーリングリストのアドレスのようです"),
])
def test_the_same_campaigns_findings_read_in_each_reviewers_language(
        new_page, live_server, drafter, reviewer, sender, locale, expected, other):
    campaign = campaign_with_many_pairs(drafter, sender)
    page = new_page(locale)
    sign_in(page, "reviewer", "pw-reviewer")
    page.goto(f"/review/{campaign.pk}/")
    role = page.locator("#findings [data-code='list.role_address']").inner_text()
    assert expected in role and other not in role
    ticks = page.locator("#approve-form").inner_text()
    assert ("shared or list address" in ticks) == (locale == "en-US")  # the tick box names it too

    # The similar-address finding quotes three pairs; all 40 are one click away, paged.
    similar = page.locator("#findings [data-code='list.similar_addresses']")
    assert similar.inner_text().count("↔") == 3
    similar.locator("a.finding-items").click()
    page.wait_for_selector("#finding-items")
    assert page.locator("#finding-items tbody tr").count() == 40
    assert "kaiin.tanaak39x@example.jp" in page.locator("#finding-items").inner_text()


def test_the_approve_button_stays_in_view_beside_a_long_finding(new_page, live_server, drafter, reviewer, sender):
    campaign = campaign_with_many_pairs(drafter, sender)
    page = new_page("en-US")
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, "reviewer", "pw-reviewer")
    page.goto(f"/review/{campaign.pk}/")
    similar = page.locator("#findings [data-code='list.similar_addresses']").inner_text()
    assert similar.count("↔") == 3  # three examples, not forty pairs
    while page.locator("#missing-evidence a").count():  # what a reviewer opens before approving anyway
        page.locator("#missing-evidence a").first.click()
        page.wait_for_load_state()
    button = page.locator("#approve-button").bounding_box()
    assert button["y"] < 2 * 900  # within two screens of the top, not 3,700 px down
