"""Every auditor page: auditors only, read-only."""

import pytest
from django.urls import reverse

from tests.factories import approved_campaign, members

PAGES = [
    ("audit_campaigns", False),
    ("audit_dashboard", False),
    ("audit_address", False),
    ("audit_campaign", True),
    ("audit_deliveries_csv", True),
    ("audit_approved_version", True),
    ("audit_incident_report", True),
    ("audit_incident_report_csv", True),
    ("audit_incident_report_json", True),
]


@pytest.fixture
def urls(drafter, reviewer, sender):
    campaign = approved_campaign(drafter, reviewer, sender, members(2))
    return [reverse(name, args=[campaign.pk] if with_pk else []) for name, with_pk in PAGES]


def test_drafters_and_reviewers_get_403_on_every_auditor_page(client_for, drafter, reviewer, urls):
    for user in (drafter, reviewer):
        client = client_for(user)
        refused = {url: client.get(url).status_code for url in urls}
        assert set(refused.values()) == {403}, refused


def test_a_superuser_without_the_auditor_role_gets_403(client_for, django_user_model, urls):
    admin = django_user_model.objects.create_superuser("root", "root@example.jp", "pw-root")
    client = client_for(admin)
    assert {client.get(url).status_code for url in urls} == {403}


def test_signed_out_visitors_are_sent_to_the_login_page(client, urls):
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_auditors_can_open_every_page(client_for, auditor, urls):
    client = client_for(auditor)
    assert {url: client.get(url).status_code for url in urls} == {url: 200 for url in urls}


def test_auditor_pages_refuse_to_be_posted_to(client_for, auditor, urls):
    client = client_for(auditor)
    assert {client.post(url).status_code for url in urls} == {405}


def test_auditor_pages_have_no_inline_script_or_style_attributes(client_for, auditor, urls):
    import re

    client = client_for(auditor)
    for url in urls:
        response = client.get(url)
        if not response["Content-Type"].startswith("text/html"):
            continue
        html = response.content.decode()
        assert " style=" not in html, url
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
