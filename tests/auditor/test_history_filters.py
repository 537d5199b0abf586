"""The campaign history: filter by dates, drafter, approver, state and recipient domain."""

from datetime import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals.models import Campaign
from tests.factories import approved_campaign, draft_campaign, members


def _at(year, month, day):
    return timezone.make_aware(datetime(year, month, day, 12, 0))


@pytest.fixture
def history(drafter, drafter2, reviewer, reviewer2, sender):
    """Four campaigns by two drafters, approved by two reviewers, to four domains."""
    first = approved_campaign(drafter, reviewer, sender, members(2, "example.com"), name="first")
    second = approved_campaign(drafter2, reviewer2, sender, members(2, "city.example.jp"), name="second")
    draft = draft_campaign(drafter, sender, members(1, "other.org"), name="draft")
    sub = approved_campaign(drafter2, reviewer, sender, members(1, "sub.example.com"), name="sub")
    Campaign.objects.filter(pk=first.pk).update(created_at=_at(2024, 1, 10), approved_at=_at(2024, 2, 1))
    Campaign.objects.filter(pk=second.pk).update(created_at=_at(2024, 2, 20), approved_at=_at(2024, 3, 5))
    Campaign.objects.filter(pk=draft.pk).update(created_at=_at(2024, 3, 1))
    return {"first": first, "second": second, "draft": draft, "sub": sub}


@pytest.fixture
def listed(client_for, auditor):
    client = client_for(auditor)

    def names(**params):
        response = client.get(reverse("audit_campaigns"), params)
        assert response.status_code == 200
        return sorted(c.name for c in response.context["page"])

    return names


def test_without_filters_every_campaign_is_listed(history, listed):
    assert listed() == ["draft", "first", "second", "sub"]


def test_state_filter_lists_only_that_state(history, listed):
    assert listed(state="draft") == ["draft"]
    assert listed(state="approved") == ["first", "second", "sub"]


def test_drafter_filter_lists_that_drafters_campaigns(history, listed, drafter2):
    assert listed(drafter=drafter2.pk) == ["second", "sub"]


def test_reviewer_filter_lists_the_campaigns_that_reviewer_approved(history, listed, reviewer, reviewer2):
    assert listed(reviewer=reviewer.pk) == ["first", "sub"]
    assert listed(reviewer=reviewer2.pk) == ["second"]


def test_domain_filter_matches_the_whole_domain_in_any_case(history, listed):
    assert listed(domain="example.com") == ["first"]
    assert listed(domain="@City.Example.JP") == ["second"]
    assert listed(domain="nowhere.example") == []


def test_created_between_two_days(history, listed):
    assert listed(date_from="2024-01-01", date_to="2024-01-31") == ["first"]
    assert listed(date_from="2024-02-20", date_to="2024-03-01") == ["draft", "second"]


def test_approved_between_two_days(history, listed):
    assert listed(date_field="approved", date_from="2024-03-01", date_to="2024-03-31") == ["second"]
    assert listed(date_field="approved", date_to="2024-02-01") == ["first"]


def test_filters_combine(history, listed, reviewer):
    assert listed(reviewer=reviewer.pk, domain="sub.example.com", state="approved") == ["sub"]


def test_an_invalid_date_is_shown_as_an_error_and_ignored(history, client_for, auditor):
    response = client_for(auditor).get(reverse("audit_campaigns"), {"date_from": "yesterday", "state": "draft"})
    assert response.status_code == 200
    assert response.context["form"].errors["date_from"]
    assert [c.name for c in response.context["page"]] == ["draft"]


def test_the_list_links_to_the_dashboard_and_the_address_search(history, client_for, auditor):
    html = client_for(auditor).get(reverse("audit_campaigns")).content.decode()
    assert reverse("audit_dashboard") in html and reverse("audit_address") in html
