"""A new drafter's first campaign, end to end through the pages and the real worker: trial mode keeps it
inside the organisation, an organisation rule asks for a second approver, two reviewers approve on
their pages, and the worker sends only to the internal addresses."""

import pytest
from django.urls import reverse

from approvals.models import Campaign, InternalDomain, OrganisationRule
from approvals.roles import Role
from tests.conftest import make_user, wait_for
from tests.factories import csv_bytes, members
from tests.pages import approve_through_pages

pytestmark = pytest.mark.worker


def test_trial_drafter_internal_campaign_with_a_second_approver_is_sent_by_the_worker(
        worker, esp, settings, client_for, django_user_model, reviewer, reviewer2, sender):
    settings.MAILGUARD = {**settings.MAILGUARD, "TRIAL_FOR_NEW_DRAFTERS": True}
    newcomer = make_user(django_user_model, "newcomer", Role.DRAFTER)
    InternalDomain.objects.create(domain="city.example.jp")
    OrganisationRule.objects.create(name="個人情報", target="body_text", expression="個人情報",
                                    action="second_approver", message="個人情報の案内は二人で承認します")
    page = client_for(newcomer)
    page.post(reverse("campaign_create"), {"name": "職員向け 個人情報研修"})
    campaign = Campaign.objects.get()
    outside = [*members(2, "city.example.jp"), *members(1, "example.com")]
    page.post(reverse("list_upload", args=[campaign.pk]),
              {"file": _upload("staff.csv", csv_bytes(outside))})
    page.post(reverse("campaign_edit", args=[campaign.pk]), {
        "name": campaign.name, "sender": sender.pk, "recipient_mode": "individual",
        "subject": "{{氏名}} 様 研修のお知らせ", "body_text": "{{氏名}} 様\n個人情報の取り扱い研修を行います。",
        "body_html": "", "kind": "notice", "attachment_delivery": "attach"})

    refused = page.post(reverse("campaign_submit", args=[campaign.pk]), follow=True).content.decode()
    assert "trial mode" in refused
    inside = members(2, "city.example.jp")
    page.post(reverse("list_upload", args=[campaign.pk]), {"file": _upload("staff.csv", csv_bytes(inside))})
    page.post(reverse("campaign_submit", args=[campaign.pk]))
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.IN_REVIEW

    approve_through_pages(client_for(reviewer), campaign, reviewer)
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.IN_REVIEW  # 1 of 2: the rule asks for a second approver
    approve_through_pages(client_for(reviewer2), campaign, reviewer2)

    wait_for(lambda: Campaign.objects.get(pk=campaign.pk).state == Campaign.State.SENT,
             message="the campaign to be sent")
    assert esp.accepted_by_recipient() == {r["メールアドレス"]: 1 for r in inside}


def _upload(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="text/csv")
