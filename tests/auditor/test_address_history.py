"""Everything ever sent to one address, across campaigns."""

from django.urls import reverse

from approvals.models import Delivery
from tests.factories import approved_campaign, draft_campaign, members, send_all


def test_address_history_lists_deliveries_across_two_campaigns(
        client_for, auditor, drafter, reviewer, reviewer2, sender, esp):
    rows = members(3)
    target = rows[0]["メールアドレス"]
    spring = approved_campaign(drafter, reviewer, sender, rows, name="春のお知らせ")
    autumn = approved_campaign(drafter, reviewer2, sender, rows[:2], name="秋のお知らせ")
    send_all(spring.pk)
    send_all(autumn.pk)

    response = client_for(auditor).get(reverse("audit_address"), {"email": target.upper()})
    assert response.status_code == 200
    found = list(response.context["page"])
    assert sorted(d.campaign.name for d in found) == ["春のお知らせ", "秋のお知らせ"]
    assert {d.email.lower() for d in found} == {target}
    assert all(d.status == Delivery.Status.SENT and d.sent_at for d in found)
    assert {d.campaign.name: d.campaign.approved_by.get_username() for d in found} == {
        "春のお知らせ": "reviewer", "秋のお知らせ": "reviewer2"}
    html = response.content.decode()
    assert "春のお知らせ" in html and "秋のお知らせ" in html and "reviewer2" in html
    assert rows[1]["メールアドレス"] not in html


def test_address_history_is_exact_not_a_substring_search(client_for, auditor, drafter, reviewer, sender):
    approved_campaign(drafter, reviewer, sender, members(2))
    response = client_for(auditor).get(reverse("audit_address"), {"email": "member0000"})
    assert list(response.context["page"]) == []


def test_a_failed_delivery_is_listed_with_its_status(client_for, auditor, drafter, reviewer, sender, esp):
    rows = members(2)
    esp.reject_recipients([rows[1]["メールアドレス"]])
    campaign = approved_campaign(drafter, reviewer, sender, rows)
    send_all(campaign.pk)
    response = client_for(auditor).get(reverse("audit_address"), {"email": rows[1]["メールアドレス"]})
    [delivery] = response.context["page"]
    assert delivery.status == Delivery.Status.FAILED and delivery.campaign == campaign


def test_an_address_only_on_an_unapproved_list_is_shown_as_stored_but_never_sent(
        client_for, auditor, drafter, sender):
    rows = members(1)
    draft = draft_campaign(drafter, sender, rows, name="下書き")
    response = client_for(auditor).get(reverse("audit_address"), {"email": rows[0]["メールアドレス"]})
    assert list(response.context["page"]) == []
    assert [r.campaign for r in response.context["unsent"]] == [draft]
    assert "下書き" in response.content.decode()


def test_the_search_page_opens_empty(client_for, auditor):
    response = client_for(auditor).get(reverse("audit_address"))
    assert response.status_code == 200 and response.context["page"] is None
