"""Open the exact approved version: content, findings, what was ticked and what was opened, and the hash."""

import pytest
from django.urls import reverse

from approvals.models import Campaign, ReviewActivity
from tests.auditor.conftest import SENSITIVE_CODE
from tests.factories import approved_campaign, draft_campaign, members

BODY = "{{氏名}} 様\n会員番号 {{会員番号}}\nお問い合わせ: 03-1234-5678"
PDF = b"%PDF-1.4 guide"


@pytest.fixture
def approved(drafter, reviewer, sender, sensitive_check):
    return approved_campaign(drafter, reviewer, sender, members(6), body=BODY,
                             attachments=[("案内.pdf", PDF, "application/pdf")])


def _page(client_for, auditor, campaign):
    response = client_for(auditor).get(reverse("audit_approved_version", args=[campaign.pk]))
    assert response.status_code == 200
    return response


def test_approved_version_shows_the_templates_sender_mode_and_hash(client_for, auditor, approved):
    response = _page(client_for, auditor, approved)
    html = response.content.decode()
    assert approved.approved_hash in html
    assert "{{氏名}} 様へのお知らせ" in html and "03-1234-5678" in html
    assert "koho@city.example.jp" in html
    assert 'data-mode="individual"' in html
    assert response.context["version"]["hash_matches"]
    assert 'id="hash-check" data-match="true"' in html


def test_approved_version_shows_the_acknowledged_keys_next_to_the_stored_findings(client_for, auditor, approved):
    flagged = next(f for f in approved.findings if f["code"] == SENSITIVE_CODE)
    assert flagged["severity"] == "acknowledge"
    version = _page(client_for, auditor, approved).context["version"]
    assert flagged["key"] in version["acknowledged"]
    [shown] = [f for f in version["findings"] if f["key"] == flagged["key"]]
    assert shown["acknowledged"] and shown["severity"] == "acknowledge"
    html = _page(client_for, auditor, approved).content.decode()
    assert f'data-key="{flagged["key"]}" data-severity="acknowledge" data-acknowledged="true"' in html


def test_approved_version_shows_the_attachments_the_reviewer_opened(client_for, auditor, reviewer, approved):
    attachment = approved.attachments.get()
    version = _page(client_for, auditor, approved).context["version"]
    [row] = version["attachments"]
    assert (row["filename"], row["sha256"], row["opened"], row["bytes_match"]) == (
        "案内.pdf", attachment.sha256, True, True)
    opened = [a for a in version["activity"] if a["kind"] == ReviewActivity.Kind.ATTACHMENT]
    assert [(a["object_id"], a["filename"]) for a in opened] == [(attachment.pk, "案内.pdf")]
    previews = ReviewActivity.objects.filter(campaign=approved, reviewer=reviewer, kind="preview",
                                             content_hash=approved.approved_hash)
    assert version["previews_opened"] == previews.count() > 0
    assert {a["row"] for a in version["activity"] if a["kind"] == "preview"} == set(
        approved.recipients.filter(pk__in=previews.values("object_id")).values_list("row_number", flat=True))


def test_activity_on_another_version_or_by_another_reviewer_is_not_shown(
        client_for, auditor, reviewer2, approved):
    ReviewActivity.objects.create(campaign=approved, reviewer=reviewer2, content_hash=approved.approved_hash,
                                  kind="attachment", object_id=approved.attachments.get().pk)
    version = _page(client_for, auditor, approved).context["version"]
    assert len([a for a in version["activity"] if a["kind"] == "attachment"]) == 1


def test_content_changed_after_approval_is_shown_as_a_mismatch(client_for, auditor, approved):
    Campaign.objects.filter(pk=approved.pk).update(subject="差し替え")
    response = _page(client_for, auditor, approved)
    assert not response.context["version"]["hash_matches"]
    assert 'data-match="false"' in response.content.decode()


def test_attachment_bytes_swapped_after_approval_are_shown(client_for, auditor, approved):
    attachment = approved.attachments.get()
    with open(attachment.file.path, "wb") as handle:
        handle.write(b"%PDF-1.4 swapped")
    version = _page(client_for, auditor, approved).context["version"]
    assert version["hash_matches"] and not version["attachments_match"]
    assert version["attachments"][0]["bytes_sha256"] != attachment.sha256


def test_a_campaign_never_approved_has_no_approved_version(client_for, auditor, drafter, sender):
    campaign = draft_campaign(drafter, sender, members(1))
    response = _page(client_for, auditor, campaign)
    assert response.context["version"] is None and 'id="not-approved"' in response.content.decode()
