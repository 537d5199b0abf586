"""What a newcomer tripped over in their first hour, each fixed through the real pages.

Submit without Save, encoded From/To in the preview, raw codes in the timeline, reasons
shown nowhere, "0 attachments", bare error pages, a row search that opened another row,
and a README that pointed outside the repository.
"""

from pathlib import Path

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from approvals import review_evidence, workflow
from approvals.models import AuditEvent, Campaign, ReviewActivity, SenderIdentity
from approvals.workflow import WorkflowError
from tests.factories import draft_campaign, members, review_everything, submitted_campaign
from tests.samples import NEWSLETTER_PDF

ROOT = Path(__file__).resolve().parent.parent


def _message(campaign, sender, **typed):
    """What the edit page's message form posts."""
    return {"name": campaign.name, "sender": sender.pk, "recipient_mode": "individual", "subject": "",
            "body_text": "", "body_html": "", "kind": "notice", "attachment_delivery": "attach", **typed}


# --- Submit saves what was typed ------------------------------------------------------------


def test_submit_saves_the_typed_message_then_submits_it(client_for, drafter, sender):
    campaign = draft_campaign(drafter, sender, members(3), subject="", body="")
    typed = _message(campaign, sender, subject="{{氏名}} 様 会報のお知らせ", body_text="{{氏名}} 様\n会報です。")
    response = client_for(drafter).post(reverse("campaign_submit", args=[campaign.pk]), typed)
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.IN_REVIEW
    assert (campaign.subject, campaign.body_text) == ("{{氏名}} 様 会報のお知らせ", "{{氏名}} 様\n会報です。")
    actions = list(AuditEvent.objects.filter(campaign=campaign).values_list("action", flat=True))
    assert actions.index("edited") < actions.index("submitted")


def test_submit_blocked_by_a_finding_keeps_the_typed_text(client_for, drafter, sender):
    campaign = draft_campaign(drafter, sender, members(2), subject="", body="")
    typed = _message(campaign, sender, subject="会報のお知らせ", body_text="{{住所}} 様")
    response = client_for(drafter).post(reverse("campaign_submit", args=[campaign.pk]), typed, follow=True)
    assert response.status_code == 200
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.DRAFT
    assert (campaign.subject, campaign.body_text) == ("会報のお知らせ", "{{住所}} 様")
    page = response.content.decode()
    assert "merge.unknown_field" in page and "会報のお知らせ" in page


def test_submit_with_an_invalid_form_shows_it_again_with_the_typed_text(client_for, drafter, sender):
    campaign = draft_campaign(drafter, sender, members(2), subject="", body="")
    typed = _message(campaign, sender, name="", subject="入力したばかりの件名", body_text="本文")
    response = client_for(drafter).post(reverse("campaign_submit", args=[campaign.pk]), typed)
    assert response.status_code == 200
    page = response.content.decode()
    assert "入力したばかりの件名" in page and "This field is required." in page
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.DRAFT and campaign.subject == ""


def test_edit_page_submit_button_posts_the_message_form(client_for, drafter, sender):
    campaign = draft_campaign(drafter, sender, members(1))
    page = client_for(drafter).get(reverse("campaign_edit", args=[campaign.pk])).content.decode()
    button = page[page.index('id="submit-for-review"') - 80:page.index('id="submit-for-review"') + 200]
    assert 'form="message-form"' in button
    assert f'formaction="{reverse("campaign_submit", args=[campaign.pk])}"' in button


# --- The reviewer reads From and To as the recipient will -------------------------------------


def test_preview_shows_from_and_to_decoded_with_the_encoded_header_one_click_away(
        client_for, drafter, reviewer, sender):
    campaign = submitted_campaign(drafter, sender, members(2))
    page = client_for(reviewer).get(reverse("review", args=[campaign.pk])).content.decode()
    assert "市役所 広報課 &lt;koho@city.example.jp&gt;" in page
    assert "山田 太郎0 &lt;member00000@example.com&gt;" in page
    assert "=?utf-8?b?" in page  # the raw header, inside <details>
    raw_at = page.index("=?utf-8?b?")
    assert page.rfind("<details", 0, raw_at) > page.rfind("</details>", 0, raw_at)


def test_preview_of_a_plain_ascii_sender_has_nothing_to_unfold(client_for, drafter, reviewer):
    plain = SenderIdentity.objects.create(display_name="City Office", email="office@city.example.jp")
    campaign = submitted_campaign(drafter, plain, [{"メールアドレス": "a@example.jp", "会員番号": "1"}],
                                  subject="お知らせ", body="会員番号 {{会員番号}}")
    page = client_for(reviewer).get(reverse("review", args=[campaign.pk])).content.decode()
    assert "City Office &lt;office@city.example.jp&gt;" in page and "<details" not in page


# --- The timeline speaks the reader's language; reasons are shown -----------------------------


def test_timeline_shows_translated_labels_not_codes(client_for, drafter, sender):
    campaign = draft_campaign(drafter, sender, members(2))
    english = client_for(drafter).get(reverse("campaign_detail", args=[campaign.pk])).content.decode()
    assert "Recipient list uploaded" in english and ">list_uploaded<" not in english
    japanese = client_for(drafter)
    japanese.defaults["HTTP_ACCEPT_LANGUAGE"] = "ja"
    page = japanese.get(reverse("campaign_detail", args=[campaign.pk])).content.decode()
    assert "宛先リストのアップロード" in page and ">list_uploaded<" not in page
    assert 'data-action="list_uploaded"' in page  # the stable code stays for machines


def test_cancel_reason_is_on_the_campaign_page_and_in_the_timeline(client_for, drafter, sender):
    campaign = draft_campaign(drafter, sender, members(2))
    client = client_for(drafter)
    client.post(reverse("campaign_cancel", args=[campaign.pk]), {"reason": "宛先リストの版が古いため"})
    page = client.get(reverse("campaign_detail", args=[campaign.pk])).content.decode()
    stop = page[page.index('id="stop-reason"'):]
    assert "宛先リストの版が古いため" in stop[:400] and "drafter" in stop[:400]
    timeline = page[page.index('id="timeline"'):]
    assert "宛先リストの版が古いため" in timeline


def test_cancel_without_a_reason_says_so(client_for, drafter, sender):
    campaign = draft_campaign(drafter, sender, members(1))
    client = client_for(drafter)
    client.post(reverse("campaign_cancel", args=[campaign.pk]), {"reason": ""})
    page = client.get(reverse("campaign_detail", args=[campaign.pk])).content.decode()
    assert "no reason given" in page[page.index('id="stop-reason"'):][:400]


def test_reject_reason_is_on_the_campaign_page_and_in_the_timeline(client_for, drafter, reviewer, sender):
    campaign = submitted_campaign(drafter, sender, members(2))
    client_for(reviewer).post(reverse("reject", args=[campaign.pk]), {"comment": "件名に号数を入れてください"})
    page = client_for(drafter).get(reverse("campaign_detail", args=[campaign.pk])).content.decode()
    assert "件名に号数を入れてください" in page[page.index('id="reject-reason"'):][:400]
    timeline = page[page.index('id="timeline"'):]
    assert "Rejected" in timeline and "件名に号数を入れてください" in timeline


def test_auditor_timeline_shows_labels_and_reasons(client_for, drafter, auditor, sender):
    campaign = draft_campaign(drafter, sender, members(1))
    workflow.cancel(campaign, drafter, "重複した配信")
    page = client_for(auditor).get(reverse("audit_campaign", args=[campaign.pk])).content.decode()
    timeline = page[page.index('id="timeline"'):]
    assert "Campaign created" in timeline and "Cancelled" in timeline and "重複した配信" in timeline


# --- "0 attachments left to open" -----------------------------------------------------------


def test_approval_refusal_names_only_what_is_still_unopened(drafter, reviewer, sender):
    campaign = submitted_campaign(drafter, sender, members(3))
    with pytest.raises(WorkflowError) as refused:
        workflow.approve(campaign, reviewer, campaign.submitted_hash)
    message = str(refused.value)
    assert "recipient preview" in message and "attachment" not in message


def test_approval_refusal_with_only_attachments_left(drafter, reviewer, sender):
    campaign = submitted_campaign(drafter, sender, members(2),
                                  attachments=[("guide.pdf", NEWSLETTER_PDF, "application/pdf")])
    for recipient_id in review_evidence.required_recipient_ids(campaign):
        review_evidence.record_opened(campaign, reviewer, ReviewActivity.Kind.PREVIEW, recipient_id)
    with pytest.raises(WorkflowError) as refused:
        workflow.approve(campaign, reviewer, campaign.submitted_hash)
    assert str(refused.value) == "Before approving, open 1 more attachment."
    review_everything(campaign, reviewer)
    workflow.approve(campaign, reviewer, campaign.submitted_hash)


# --- Error pages ----------------------------------------------------------------------------


def test_not_found_page_is_styled_with_a_way_back(client_for, drafter):
    response = client_for(drafter).get(reverse("campaign_detail", args=[999999]))
    page = response.content.decode()
    assert response.status_code == 404
    assert 'id="error-page"' in page and f'href="{reverse("home")}"' in page and "bootstrap" in page
    assert "There is no such page" in page


def test_forbidden_page_is_styled_with_a_way_back(client_for, reviewer):
    response = client_for(reviewer).get(reverse("campaign_list"))
    page = response.content.decode()
    assert response.status_code == 403
    assert 'id="error-page"' in page and 'id="error-home"' in page and "not allowed" in page


def test_server_error_page_renders_without_a_database_or_context_processors(django_assert_num_queries, db):
    request = RequestFactory().get("/somewhere/")
    with django_assert_num_queries(0):
        response = server_error(request)
    page = response.content.decode()
    assert response.status_code == 500
    assert 'id="error-page"' in page and 'id="error-home"' in page and "bootstrap" in page
    assert "set_language" not in page and "i18n/setlang" not in page  # no form that would need a token


# --- The review search finds exactly the row typed ------------------------------------------


@pytest.mark.parametrize("typed", ["12", "１２", "#12", " 12 "])
def test_review_search_for_a_row_number_opens_exactly_that_row(client_for, drafter, reviewer, sender, typed):
    campaign = submitted_campaign(drafter, sender, members(120))
    response = client_for(reviewer).get(reverse("review", args=[campaign.pk]), {"q": typed})
    assert response.context["recipient"].row_number == 12
    assert response.context["page"].paginator.count == 1


def test_review_search_by_address_still_matches_part_of_it(client_for, drafter, reviewer, sender):
    campaign = submitted_campaign(drafter, sender, members(30))
    response = client_for(reviewer).get(reverse("review", args=[campaign.pk]), {"q": "member00021@"})
    assert response.context["recipient"].email == "member00021@example.com"


def test_missing_preview_links_search_by_row(client_for, drafter, reviewer, sender):
    campaign = submitted_campaign(drafter, sender, members(40))
    page = client_for(reviewer).get(reverse("review", args=[campaign.pk])).content.decode()
    box = page[page.index('id="missing-evidence"'):]
    assert 'href="?q=41"' in box[:3000]  # the last row, by number


# --- The README and the incidents stand on their own ------------------------------------------


def test_readme_mentions_port_and_points_only_inside_the_repository():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "`PORT`" in readme
    assert "../shared" not in readme and "docs/incidents.md" in readme
    incidents = (ROOT / "docs" / "incidents.md").read_text(encoding="utf-8")
    for number in range(1, 15):
        assert f"| {number} |" in incidents
