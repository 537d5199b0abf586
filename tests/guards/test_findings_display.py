"""Findings are stored as codes and parameters and read in the reader's language; every item stays reachable."""

import pytest
from django.urls import reverse
from django.utils import translation

from approvals.guards.findings import EXAMPLES_IN_TEXT, Finding, Severity
from approvals.guards.texts import display
from tests.factories import submitted_campaign


def pairs_finding(count: int) -> Finding:
    pairs = [(2 * i + 2, f"taro{i}x@example.jp", 2 * i + 3, f"tar0{i}x@example.jp", "typo") for i in range(count)]
    return Finding("list.similar_addresses", Severity.ACKNOWLEDGE, {"count": count, "examples": pairs},
                   rows=tuple(r for p in pairs for r in (p[0], p[2])), items=tuple(pairs))


def test_a_finding_quotes_a_few_examples_and_keeps_every_item():
    finding = pairs_finding(500)
    assert len(finding.params["examples"]) == EXAMPLES_IN_TEXT
    assert len(finding.items) == finding.item_count == 500
    assert finding.message.count("↔") == EXAMPLES_IN_TEXT and len(finding.message) < 800


def test_a_stored_finding_is_rendered_in_the_language_of_whoever_reads_it():
    stored = pairs_finding(4).as_dict()
    assert "message" not in stored
    with translation.override("ja"):
        japanese = display(stored)["message"]
    with translation.override("en"):
        english = display(stored)["message"]
    assert "組のアドレス" in japanese and "pairs of addresses" in english


def test_a_finding_stored_as_text_before_codes_is_shown_as_it_was():
    old = {"code": "list.similar_addresses", "severity": "acknowledge", "message": "2 組のアドレスが…",
           "rows": [2, 3], "files": [], "key": "list.similar_addresses:abc"}
    shown = display(old)
    assert shown["message"] == "2 組のアドレスが…" and shown["key"] == "list.similar_addresses:abc"


def test_a_code_from_another_version_falls_back_to_its_code():
    assert display({"code": "list.future_check", "severity": "info", "params": {}})["message"] == "list.future_check"


@pytest.mark.django_db
def test_every_flagged_pair_is_on_the_paged_list_one_click_from_the_review(client_for, drafter, reviewer, sender):
    rows = []
    for i in range(130):
        phone = f"090-1111-{i:04d}"
        rows.append({"氏名": f"会員 {i}", "メールアドレス": f"kaiin.tanaka{i}x@example.jp", "電話": phone})
        rows.append({"氏名": f"会員 {i}", "メールアドレス": f"kaiin.tanaak{i}x@example.jp", "電話": phone})
    campaign = submitted_campaign(drafter, sender, rows, subject="会報", body="{{氏名}} 様")
    similar, = [f for f in campaign.findings if f["code"] == "list.similar_addresses"]
    client = client_for(reviewer)
    review = client.get(reverse("review", args=[campaign.pk])).content.decode()
    link = reverse("finding_items", args=[campaign.pk, similar["key"]])
    assert link in review and "See all 130 items" in review
    first = client.get(link).content.decode()
    second = client.get(link + "?page=2").content.decode()
    assert "kaiin.tanaak0x@example.jp" in first and "kaiin.tanaak129x@example.jp" in second
    assert first.count("<tr>") == 101 and second.count("<tr>") == 31  # a header row and the items
    assert client.get(reverse("finding_items", args=[campaign.pk, "list.other:0"])).status_code == 404
