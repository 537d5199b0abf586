"""Risk-tiered approval: when the administrator's policy applies, two different reviewers must each
approve the same version; the first approval shows as "1 of 2" and any change starts again."""

import pytest
from django.urls import reverse

from approvals import approval_policy, workflow
from approvals.models import ApprovalPolicy, AuditEvent, Campaign, InternalDomain, OrganisationRule, Review
from approvals.roles import Role
from tests.conftest import make_user
from tests.factories import approve_after_review, draft_campaign, members, submitted_campaign
from tests.pages import approve_through_pages
from tests.samples import NEWSLETTER_PDF

State = Campaign.State


@pytest.fixture
def third_reviewer(db, django_user_model):
    return make_user(django_user_model, "reviewer3", Role.REVIEWER)


def policy(**fields) -> ApprovalPolicy:
    senders = fields.pop("senders", ())
    created = ApprovalPolicy.objects.create(**fields)
    created.sender_identities.set(senders)
    return created


def test_without_a_policy_one_approval_is_enough(drafter, reviewer, sender):
    campaign = submitted_campaign(drafter, sender, members(3))
    assert approval_policy.requirement_for(campaign).approvals == 1
    approve_after_review(campaign, reviewer)
    assert campaign.state == State.APPROVED


def test_above_the_recipient_limit_the_first_approval_is_one_of_two_on_the_pages(
        client_for, drafter, reviewer, reviewer2, sender):
    policy(recipients_above=5)
    campaign = submitted_campaign(drafter, sender, members(6))

    page = approve_through_pages(client_for(reviewer), campaign, reviewer)

    campaign.refresh_from_db()
    assert campaign.state == State.IN_REVIEW and campaign.approved_by is None
    assert not campaign.deliveries.exists()
    content = page.content.decode()
    assert 'id="approval-progress" data-count="1" data-required="2"' in content
    assert "1 of 2" in content and "6 recipients: more than 5" in content
    again = client_for(reviewer).get(reverse("review", args=[campaign.pk])).content.decode()
    assert 'id="already-approved"' in again and 'id="approve-button"' not in again

    approve_through_pages(client_for(reviewer2), campaign, reviewer2)

    campaign.refresh_from_db()
    assert campaign.state == State.APPROVED and campaign.approved_by == reviewer2
    assert campaign.deliveries.count() == 6
    reviews = list(campaign.reviews.order_by("created_at"))
    assert [r.reviewer for r in reviews] == [reviewer, reviewer2]
    assert all(r.policy == {"required": 2, "reasons": [{"code": "recipients", "limit": 5, "value": 6}]}
               for r in reviews)
    first, final = campaign.events.filter(action__in=["approval_recorded", "approved"]).order_by("id")
    assert (first.action, first.details["approvals"], first.details["required"]) == ("approval_recorded", 1, 2)
    assert final.details["approvals"] == 2 and final.details["approval_rule"]["required"] == 2


def test_the_same_reviewer_cannot_give_both_approvals(drafter, reviewer, sender):
    policy(any_attachment=True)
    campaign = submitted_campaign(drafter, sender, members(2),
                                  attachments=[("kaiho.pdf", NEWSLETTER_PDF, "application/pdf")])
    approve_after_review(campaign, reviewer)
    with pytest.raises(workflow.WorkflowError):
        approve_after_review(campaign, reviewer)
    assert campaign.reviews.count() == 1 and campaign.state == State.IN_REVIEW


def test_the_drafter_can_never_be_the_second_approver(db, django_user_model, reviewer, sender):
    both = make_user(django_user_model, "both", Role.DRAFTER, Role.REVIEWER)
    policy(recipients_above=0)
    campaign = submitted_campaign(both, sender, members(2))
    approve_after_review(campaign, reviewer)
    with pytest.raises(workflow.NotAllowed):
        approve_after_review(campaign, both)
    campaign.refresh_from_db()
    assert campaign.state == State.IN_REVIEW


def test_a_change_of_content_resets_both_approvals(drafter, reviewer, reviewer2, third_reviewer, sender):
    policy(recipients_above=1)
    campaign = submitted_campaign(drafter, sender, members(3))
    approve_after_review(campaign, reviewer)
    workflow.reject(campaign, reviewer2, "件名を直してください")
    workflow.update_message(campaign, drafter, subject="{{氏名}} 様 お知らせ（訂正）")
    workflow.submit(campaign, drafter)
    campaign.refresh_from_db()
    assert approval_policy.progress(campaign).count == 0

    approve_after_review(campaign, reviewer2)
    assert campaign.state == State.IN_REVIEW  # the first round's approval does not count
    approve_after_review(campaign, third_reviewer)
    assert campaign.state == State.APPROVED


def test_a_resubmission_without_changes_also_starts_again(drafter, reviewer, reviewer2, sender):
    policy(recipients_above=1)
    campaign = submitted_campaign(drafter, sender, members(3))
    approve_after_review(campaign, reviewer)
    workflow.reject(campaign, reviewer2, "念のため確認")
    workflow.submit(campaign, drafter)
    campaign.refresh_from_db()
    approve_after_review(campaign, reviewer2)
    assert campaign.state == State.IN_REVIEW


def test_each_threshold_and_its_reason(drafter, sender):
    InternalDomain.objects.create(domain="city.example.jp")
    chosen = policy(external_domains_above=1, any_attachment=True, finding_codes="list.similar*\n",
                    senders=[sender])
    rows = [*members(2, "a.example.com"), *members(2, "b.example.org"), *members(1, "city.example.jp")]
    # One person twice: the same name and member number on two near addresses.
    rows[0].update({"氏名": "重野 一郎", "会員番号": "M777777"})
    rows[1] = {**rows[0], "メールアドレス": rows[0]["メールアドレス"].replace("member", "membar")}
    campaign = submitted_campaign(drafter, sender, rows,
                                  attachments=[("kaiho.pdf", NEWSLETTER_PDF, "application/pdf")])
    assert any(f["code"] == "list.similar_addresses" for f in campaign.findings)

    reasons = approval_policy.requirement_for(campaign).reasons

    assert reasons == [
        {"code": "external_domains", "limit": 1, "value": 2},
        {"code": "attachment", "value": 1},
        {"code": "finding", "findings": ["list.similar_addresses"]},
        {"code": "sender", "sender": sender.email},
    ]
    chosen.sender_identities.clear()
    chosen.any_attachment = False
    chosen.external_domains_above = 2  # the internal domain does not count
    chosen.finding_codes = "list.domain_typo"
    chosen.save()
    assert approval_policy.requirement_for(campaign).approvals == 1


def test_a_chosen_acknowledge_finding_needs_two_approvals(drafter, sender):
    rows = members(3)
    rows[1] = {**rows[0], "メールアドレス": rows[0]["メールアドレス"].replace("member", "membar")}
    campaign = submitted_campaign(drafter, sender, rows)
    acknowledge = [f["code"] for f in campaign.findings if f["severity"] == "acknowledge"]
    assert acknowledge, "the near-identical address must be acknowledged"
    policy(finding_codes=acknowledge[0])
    requirement = approval_policy.requirement_for(campaign)
    assert requirement.approvals == 2
    assert requirement.reasons == [{"code": "finding", "findings": [acknowledge[0]]}]


def test_an_organisation_rule_can_require_a_second_approver(drafter, reviewer, reviewer2, sender):
    OrganisationRule.objects.create(name="個人情報", target="body_text", match="keyword", expression="個人情報",
                                    action="second_approver", message="個人情報を含む案内は二人で承認します")
    campaign = submitted_campaign(drafter, sender, members(2), body="{{氏名}} 様\n個人情報の取り扱いについて")
    approve_after_review(campaign, reviewer)
    assert campaign.state == State.IN_REVIEW
    approve_after_review(campaign, reviewer2)
    assert campaign.state == State.APPROVED
    rule = Review.objects.filter(campaign=campaign).first().policy
    assert rule["reasons"][0]["code"] == "org_rule"


def test_the_auditor_sees_the_rule_that_applied(client_for, drafter, reviewer, reviewer2, auditor, sender):
    policy(recipients_above=2)
    campaign = submitted_campaign(drafter, sender, members(3))
    approve_after_review(campaign, reviewer)
    approve_after_review(campaign, reviewer2)
    page = client_for(auditor).get(reverse("audit_campaign", args=[campaign.pk])).content.decode()
    assert page.count('class="approval-rule small text-muted" data-required="2"') == 2
    assert "3 recipients: more than 2" in page
    assert AuditEvent.objects.filter(campaign=campaign, action="approval_recorded").exists()


def test_approvals_are_counted_from_the_database_not_from_a_page_loaded_earlier(
        drafter, reviewer, reviewer2, sender):
    """Both reviewers opened the campaign before either approved: the second approval still completes it."""
    policy(recipients_above=1)
    campaign = submitted_campaign(drafter, sender, members(2))
    first = Campaign.objects.get(pk=campaign.pk)
    second = Campaign.objects.get(pk=campaign.pk)
    approve_after_review(first, reviewer)
    approve_after_review(second, reviewer2)
    campaign.refresh_from_db()
    assert campaign.state == State.APPROVED
    assert campaign.events.filter(action="approved").count() == 1


def test_policy_admin_allows_one_policy_and_audits_changes(admin_client, sender):
    response = admin_client.post(reverse("admin:approvals_approvalpolicy_add"), {
        "recipients_above": "100", "external_domains_above": "", "finding_codes": "recipients.similar",
        "sender_identities": [sender.pk]})
    assert response.status_code == 302
    assert ApprovalPolicy.objects.get().recipients_above == 100
    event = AuditEvent.objects.get(action="approval_policy_changed")
    assert event.details["senders"] == [sender.email] and event.details["recipients_above"] == 100
    assert admin_client.get(reverse("admin:approvals_approvalpolicy_add")).status_code == 403


def test_a_draft_shows_no_progress(client_for, drafter, sender):
    campaign = draft_campaign(drafter, sender, members(2))
    page = client_for(drafter).get(reverse("campaign_detail", args=[campaign.pk])).content.decode()
    assert "approval-progress" not in page
