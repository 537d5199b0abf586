"""Two people, always: a superuser who drafted or edited a campaign cannot approve it either."""

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from approvals import workflow
from approvals.models import Campaign, Review
from approvals.roles import Role
from tests.conftest import make_user
from tests.factories import draft_campaign, members, review_everything, submitted_campaign


@pytest.fixture
def super_both(db, django_user_model):
    """The most powerful account there is: superuser, staff, Drafter and Reviewer."""
    return make_user(django_user_model, "chief", Role.DRAFTER, Role.REVIEWER, is_superuser=True, is_staff=True)


def _assert_not_approved(campaign):
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.IN_REVIEW
    assert campaign.approved_by is None
    assert not Review.objects.filter(campaign=campaign, decision=Review.Decision.APPROVED).exists()


def test_superuser_who_drafted_cannot_approve_in_the_workflow(super_both, sender):
    campaign = submitted_campaign(super_both, sender, members(2))
    acknowledged = review_everything(campaign, super_both)
    with pytest.raises(workflow.NotAllowed):
        workflow.approve(campaign, super_both, campaign.submitted_hash, acknowledged=acknowledged)
    _assert_not_approved(campaign)
    assert not workflow.can("approve", campaign, super_both)


def test_superuser_who_only_edited_someone_elses_draft_cannot_approve(super_both, drafter, sender):
    from approvals.models import Contributor

    campaign = draft_campaign(drafter, sender, members(2))
    with pytest.raises(workflow.NotAllowed):  # only the campaign's own drafters edit it
        workflow.update_message(campaign, super_both, subject="{{氏名}} 様 (edited)")
    Contributor.objects.create(campaign=campaign, user=super_both)  # an edit made before that rule
    workflow.submit(campaign, drafter)
    campaign.refresh_from_db()
    acknowledged = review_everything(campaign, super_both)
    with pytest.raises(workflow.NotAllowed):
        workflow.approve(campaign, super_both, campaign.submitted_hash, acknowledged=acknowledged)
    with pytest.raises(workflow.NotAllowed):
        workflow.reject(campaign, super_both, "no")
    _assert_not_approved(campaign)


def test_superuser_who_drafted_cannot_approve_through_the_page(super_both, sender, client):
    campaign = submitted_campaign(super_both, sender, members(2))
    client.force_login(super_both)
    for page in range(1, 3):  # open everything a reviewer must open first
        client.get(reverse("review", args=[campaign.pk]) + f"?page={page}")
    review_page = client.get(reverse("review", args=[campaign.pk]))
    assert review_page.context["can_decide"] is False
    response = client.post(reverse("approve", args=[campaign.pk]), {"content_hash": campaign.submitted_hash})
    assert response.status_code == 403
    _assert_not_approved(campaign)


def test_a_different_reviewer_can_approve_it(super_both, reviewer, sender):
    """The refusals above are about the person, not the campaign."""
    campaign = submitted_campaign(super_both, sender, members(2))
    acknowledged = review_everything(campaign, reviewer)
    workflow.approve(campaign, reviewer, campaign.submitted_hash, acknowledged=acknowledged)
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.APPROVED and campaign.approved_by == reviewer


def test_the_database_refuses_an_update_making_the_drafter_the_approver(super_both, sender):
    campaign = submitted_campaign(super_both, sender, members(1))
    with pytest.raises(IntegrityError), transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk).update(approved_by=super_both, state=Campaign.State.APPROVED)
    _assert_not_approved(campaign)


def test_the_database_refuses_saving_the_drafter_as_approver(super_both, sender):
    campaign = submitted_campaign(super_both, sender, members(1))
    campaign.approved_by = super_both
    with pytest.raises(IntegrityError), transaction.atomic():
        campaign.save(update_fields=["approved_by"])


def test_the_constraint_is_in_the_model(db):
    names = {c.name for c in Campaign._meta.constraints}
    assert "campaign_approver_is_not_drafter" in names
