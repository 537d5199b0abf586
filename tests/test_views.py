"""The pages: role checks on every request, bad input answered with a message, never a 500."""

import pytest
from django.urls import reverse

from approvals.models import Campaign
from tests.factories import csv_bytes, draft_campaign, members, submitted_campaign
from tests.samples import NEWSLETTER_PDF


def test_pages_require_sign_in(client, db):
    response = client.get(reverse("campaign_list"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("name", ["campaign_list", "campaign_create"])
def test_drafter_pages_refuse_reviewers(client_for, reviewer, name):
    assert client_for(reviewer).get(reverse(name)).status_code == 403


def test_review_queue_refuses_drafters(client_for, drafter):
    assert client_for(drafter).get(reverse("review_queue")).status_code == 403


def test_audit_pages_refuse_drafters_and_reviewers(client_for, drafter, reviewer):
    assert client_for(drafter).get(reverse("audit_campaigns")).status_code == 403
    assert client_for(reviewer).get(reverse("audit_campaigns")).status_code == 403


def test_drafter_posting_the_approve_form_directly_is_refused(client_for, django_user_model, sender, db):
    from approvals.roles import Role
    from tests.conftest import make_user

    both = make_user(django_user_model, "both", Role.DRAFTER, Role.REVIEWER)
    campaign = submitted_campaign(both, sender, members(2))
    response = client_for(both).post(reverse("approve", args=[campaign.pk]),
                                     {"content_hash": campaign.submitted_hash})
    assert response.status_code == 403
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.IN_REVIEW and campaign.approved_by is None


def test_approve_refuses_get(client_for, drafter, reviewer, sender):
    campaign = submitted_campaign(drafter, sender, members(1))
    assert client_for(reviewer).get(reverse("approve", args=[campaign.pk])).status_code == 405


def test_approve_without_csrf_token_is_refused(drafter, reviewer, sender):
    from django.test import Client

    campaign = submitted_campaign(drafter, sender, members(1))
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(reviewer)
    response = strict.post(reverse("approve", args=[campaign.pk]), {"content_hash": campaign.submitted_hash})
    assert response.status_code == 403
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.IN_REVIEW


def test_reviewer_approves_through_the_page_after_opening_every_preview(client_for, drafter, reviewer, sender):
    campaign = submitted_campaign(drafter, sender, members(2),
                                  attachments=[("guide.pdf", NEWSLETTER_PDF, "application/pdf")])
    client = client_for(reviewer)
    page = client.get(reverse("review", args=[campaign.pk]))
    assert page.status_code == 200 and campaign.submitted_hash in page.content.decode()
    approve = {"content_hash": campaign.submitted_hash}
    client.post(reverse("approve", args=[campaign.pk]), approve)
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.IN_REVIEW  # second preview and the attachment not opened yet
    client.get(reverse("review", args=[campaign.pk]) + "?page=2")
    client.get(reverse("attachment_download", args=[campaign.pk, campaign.attachments.get().pk]))
    response = client.post(reverse("approve", args=[campaign.pk]), approve)
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.APPROVED and campaign.approved_by == reviewer


def test_other_drafters_campaign_is_not_found(client_for, django_user_model, drafter, sender):
    from approvals.roles import Role
    from tests.conftest import make_user

    other = make_user(django_user_model, "other", Role.DRAFTER)
    campaign = draft_campaign(drafter, sender, members(1))
    assert client_for(other).get(reverse("campaign_edit", args=[campaign.pk])).status_code == 404


def test_broken_csv_upload_shows_a_message_and_keeps_the_old_list(client_for, drafter, sender):
    campaign = draft_campaign(drafter, sender, members(3))
    broken = b'\xe6\xb0\x8f\xe5\x90\x8d,email\r\n"unterminated,a@example.jp\r\n\x00\x00'
    client = client_for(drafter)
    response = client.post(reverse("list_upload", args=[campaign.pk]),
                           {"file": _upload("broken.csv", broken)}, follow=True)
    assert response.status_code == 200
    assert any(m.level_tag == "error" for m in response.context["messages"])
    assert campaign.recipients.count() == 3


def test_cp932_csv_upload_reads_kanji_names(client_for, drafter, sender):
    campaign = draft_campaign(drafter, sender, members(1))
    rows = [{"氏名": "髙橋 花子", "メールアドレス": "hanako@example.jp"}]
    response = client_for(drafter).post(reverse("list_upload", args=[campaign.pk]),
                                        {"file": _upload("名簿.csv", csv_bytes(rows, "cp932"))})
    assert response.status_code == 302
    recipient = campaign.recipients.get()
    assert (recipient.email, recipient.display_name) == ("hanako@example.jp", "髙橋 花子")


def test_unknown_merge_field_is_shown_before_submission(client_for, drafter, sender):
    campaign = draft_campaign(drafter, sender, members(1), body="{{住所}} 様")
    page = client_for(drafter).get(reverse("campaign_edit", args=[campaign.pk]))
    assert "merge.unknown_field" in page.content.decode()
    response = client_for(drafter).post(reverse("campaign_submit", args=[campaign.pk]), follow=True)
    assert response.status_code == 200
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.DRAFT


def test_html_preview_is_sanitised_and_sandboxed(client_for, drafter, reviewer, sender):
    campaign = submitted_campaign(drafter, sender, members(1),
                                  html='<p onclick="steal()">{{氏名}}</p><script>alert(1)</script>')
    recipient = campaign.recipients.get()
    response = client_for(reviewer).get(reverse("preview_html", args=[campaign.pk, recipient.pk]))
    body = response.content.decode()
    assert "<script" not in body and "onclick" not in body and recipient.display_name in body
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_attachment_download_is_forced_and_not_sniffed(client_for, drafter, reviewer, sender):
    campaign = submitted_campaign(drafter, sender, members(1),
                                  attachments=[("a.pdf", b"%PDF-1.4 x", "application/pdf")])
    attachment = campaign.attachments.get()
    response = client_for(reviewer).get(reverse("attachment_download", args=[campaign.pk, attachment.pk]))
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == b"%PDF-1.4 x"


def test_audit_csv_has_bom_and_neutralises_formulas(client_for, drafter, reviewer, auditor, sender):
    from approvals.models import Delivery
    from tests.factories import approved_campaign

    campaign = approved_campaign(drafter, reviewer, sender, members(1))
    Delivery.objects.filter(campaign=campaign).update(error="=HYPERLINK(\"http://x\")")
    response = client_for(auditor).get(reverse("audit_deliveries_csv", args=[campaign.pk]))
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    assert "'=HYPERLINK" in text


def _upload(name, data):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="text/csv")


def test_progress_reports_counts_rate_and_time_left(client_for, drafter, reviewer, sender, esp):
    from approvals.delivery import engine
    from tests.factories import approved_campaign

    campaign = approved_campaign(drafter, reviewer, sender, members(4))
    engine.start(campaign.pk)
    from approvals.delivery import ledger

    claimed = ledger.claim_batch(campaign.pk, 2)
    ledger.mark_many_sent([(d, f"esp-{d.pk}") for d in claimed])
    data = client_for(reviewer).get(reverse("campaign_progress", args=[campaign.pk])).json()
    assert data["counts"]["sent"] == 2 and data["counts"]["pending"] == 2 and data["total"] == 4
    assert data["rate_per_second"] > 0 and data["eta_seconds"] is not None


@pytest.mark.parametrize("row", ["abc", "", "999"])
def test_proof_for_a_row_that_does_not_exist_is_a_message_not_an_error(client_for, drafter, sender, esp, row):
    campaign = draft_campaign(drafter, sender, members(2))
    response = client_for(drafter).post(reverse("proof_send", args=[campaign.pk]), {"row": row}, follow=True)
    assert response.status_code == 200
    assert any(m.level_tag == "error" for m in response.context["messages"])
    assert esp.messages() == []
