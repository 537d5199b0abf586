"""Trial mode for new drafters: until an administrator lifts it, their campaigns can only go to
internal addresses and the seed list — blocked at submission, checked again at approval."""

import pytest
from django.urls import reverse

from approvals import workflow
from approvals.models import AuditEvent, Campaign, Contributor, InternalDomain, UserProfile
from approvals.profiles import profile_of
from approvals.roles import Role
from approvals.trial_mode import set_trial_mode
from tests.conftest import make_user
from tests.factories import approve_after_review, draft_campaign, members, review_everything, submitted_campaign

State = Campaign.State


@pytest.fixture
def new_accounts_in_trial(settings):
    settings.MAILGUARD = {**settings.MAILGUARD, "TRIAL_FOR_NEW_DRAFTERS": True,
                          "SEED_ADDRESSES": ["seed@monitor.example.net"]}


@pytest.fixture
def newcomer(db, django_user_model, new_accounts_in_trial):
    return make_user(django_user_model, "newcomer", Role.DRAFTER)


@pytest.fixture
def internal(db):
    return InternalDomain.objects.create(domain="city.example.jp")


def test_a_new_account_starts_in_trial_mode(newcomer):
    assert UserProfile.objects.get(user=newcomer).trial_mode is True


def test_outside_addresses_are_blocked_and_named_on_the_edit_page(client_for, newcomer, internal, sender):
    rows = [*members(2, "city.example.jp"), *members(2, "example.com")]
    campaign = draft_campaign(newcomer, sender, rows)
    page = client_for(newcomer).get(reverse("campaign_edit", args=[campaign.pk])).content.decode()
    assert 'data-code="trial.outside_organisation"' in page
    assert "2 rows are outside: 4, 5." in page
    response = client_for(newcomer).post(reverse("campaign_submit", args=[campaign.pk]), follow=True)
    assert "You are in trial mode" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.state == State.DRAFT


def test_internal_and_seed_addresses_may_be_sent(newcomer, reviewer, internal, sender):
    rows = [*members(2, "city.example.jp"), {"氏名": "確認用", "メールアドレス": "SEED@monitor.example.net",
                                             "会員番号": "S1"}]
    campaign = submitted_campaign(newcomer, sender, rows)
    assert not [f for f in campaign.findings if f["code"].startswith("trial.")]
    approve_after_review(campaign, reviewer)
    assert campaign.state == State.APPROVED


def test_an_editor_in_trial_puts_the_campaign_in_trial(drafter, newcomer, internal, sender):
    campaign = draft_campaign(drafter, sender, members(2, "example.com"))
    # Only a campaign's own drafters edit it; the newcomer is one of them (as after a hand-over).
    Contributor.objects.create(campaign=campaign, user=newcomer)
    workflow.update_message(campaign, newcomer, subject="{{氏名}} 様 ご案内")
    with pytest.raises(workflow.SubmissionBlocked) as blocked:
        workflow.submit(campaign, drafter)
    assert [f.code for f in blocked.value.findings] == ["trial.outside_organisation"]


def test_approval_checks_again_when_trial_mode_was_switched_on_after_submission(
        drafter, reviewer, internal, sender, admin_user):
    campaign = submitted_campaign(drafter, sender, members(3, "example.com"))
    set_trial_mode(drafter, True, actor=admin_user)
    acknowledged = review_everything(campaign, reviewer)
    with pytest.raises(workflow.WorkflowError, match="trial mode"):
        workflow.approve(campaign, reviewer, campaign.submitted_hash, acknowledged=acknowledged)
    campaign.refresh_from_db()
    assert campaign.state == State.IN_REVIEW and not campaign.deliveries.exists()


def test_an_administrator_lifts_trial_mode_in_the_admin_and_it_is_audited(admin_client, admin_user, newcomer,
                                                                          internal, sender):
    profile = profile_of(newcomer)
    response = admin_client.post(reverse("admin:approvals_userprofile_change", args=[profile.pk]),
                                 {"language": "ja"})  # the trial box left unticked
    assert response.status_code == 302
    profile.refresh_from_db()
    assert profile.trial_mode is False
    event = AuditEvent.objects.get(action="trial_mode_lifted")
    assert (event.actor, event.details["user"]) == (admin_user, "newcomer")
    submitted_campaign(newcomer, sender, members(2, "example.com"))  # no longer blocked


def test_the_admin_action_lifts_trial_mode_for_several_people(admin_client, django_user_model,
                                                              new_accounts_in_trial):
    people = [make_user(django_user_model, f"new{i}", Role.DRAFTER) for i in range(3)]
    ids = [profile_of(person).pk for person in people]
    admin_client.post(reverse("admin:approvals_userprofile_changelist"),
                      {"action": "lift_trial_mode", "_selected_action": ids})
    assert not UserProfile.objects.filter(pk__in=ids, trial_mode=True).exists()
    assert AuditEvent.objects.filter(action="trial_mode_lifted").count() == 3


def test_switching_to_the_same_mode_records_nothing(admin_user, newcomer):
    assert set_trial_mode(newcomer, True, actor=admin_user) is False
    assert not AuditEvent.objects.filter(action__startswith="trial_mode").exists()
