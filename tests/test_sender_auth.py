"""Sender authentication against a DNS server on 127.0.0.1 (dnslib), never the internet:
records that pass, fail and are missing, DMARC inheritance, the timeout path, the cache,
and what the administrator and the reviewer see."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals import guards, sender_auth, workflow
from approvals.guards.texts import display
from approvals.models import SenderDomainCheck, SenderIdentity
from approvals.sender_auth import Status
from tests.conftest import make_user
from tests.dns_server import LocalDNS, SilentDNS
from tests.factories import approve_after_review, draft_campaign, members, review_everything

KEY = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCqGKukO1De7zhZj6"
ZONE = f"""
pass.example. 300 IN TXT "v=spf1 include:spf.esp.example -all"
_dmarc.pass.example. 300 IN TXT "v=DMARC1; p=reject; sp=quarantine; rua=mailto:dmarc@pass.example"
pm._domainkey.pass.example. 300 IN TXT "v=DKIM1; k=rsa; p={KEY}"
fail.example. 300 IN TXT "v=spf1 include:other-isp.example ~all"
fail.example. 300 IN TXT "google-site-verification=abc"
_dmarc.fail.example. 300 IN TXT "v=DMARC1; p=reject"
pm._domainkey.fail.example. 300 IN TXT "v=DKIM1; k=rsa; p="
twospf.example. 300 IN TXT "v=spf1 include:spf.esp.example -all"
twospf.example. 300 IN TXT "v=spf1 mx -all"
_dmarc.twospf.example. 300 IN TXT "v=DMARC1; p=none"
pm._domainkey.twospf.example. 300 IN TXT "v=DKIM1; k=rsa; p={KEY}"
quarantine.example. 300 IN TXT "v=spf1 -all"
_dmarc.quarantine.example. 300 IN TXT "v=DMARC1; p=quarantine"
strict.example. 300 IN TXT "v=spf1 -all"
_dmarc.strict.example. 300 IN TXT "v=DMARC1; p=reject; adkim=s"
pm._domainkey.strict.example. 300 IN TXT "v=DKIM1; k=rsa; p={KEY}"
"""
TRANSPORT = {
    "DKIM_SIGNING_DOMAINS": ["pass.example", "fail.example", "twospf.example", "strict.example", "bare.example"],
    "DKIM_SELECTORS": ["pm"],
    "SPF_INCLUDES": ["spf.esp.example"],
}


@pytest.fixture(scope="module")
def local_dns():
    with LocalDNS(ZONE) as server:
        yield server


@pytest.fixture
def dns_settings(settings, local_dns):
    """Checks on, answered by the local server, with a transport that signs for the test domains."""
    settings.MAILGUARD = {**settings.MAILGUARD, "SENDER_AUTH_CHECK": True, "DNS_NAMESERVERS": [local_dns.nameserver],
                          "DNS_TIMEOUT_SECONDS": 2.0, **TRANSPORT}
    return settings


def set_mailguard(settings, **values):
    settings.MAILGUARD = {**settings.MAILGUARD, **values}


# --- What the records say ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_domain_with_spf_dkim_and_dmarc_in_order_passes_and_aligns(dns_settings):
    result = sender_auth.check_now("pass.example")
    assert (result.spf.status, result.dkim.status, result.dmarc.status) == (Status.PASS,) * 3
    assert result.policy == "reject"
    assert result.aligned is True
    assert result.problems() == []
    assert "pm._domainkey.pass.example" in result.dkim.note


@pytest.mark.django_db
def test_a_domain_with_no_records_is_missing_all_three(dns_settings):
    result = sender_auth.check_now("bare.example")
    assert (result.spf.status, result.dkim.status, result.dmarc.status) == (Status.MISSING,) * 3
    assert result.aligned is False
    assert result.policy == ""
    assert not result.refused_by_policy  # no DMARC: receivers do not refuse on policy
    assert len(result.problems()) == 4


@pytest.mark.django_db
def test_failing_records_spf_without_the_transport_and_a_revoked_dkim_key(dns_settings):
    result = sender_auth.check_now("fail.example")
    assert result.spf.status == Status.FAIL and "spf.esp.example" in result.spf.note
    assert result.dkim.status == Status.FAIL and "revoked" in result.dkim.note
    assert result.dmarc.status == Status.PASS and result.policy == "reject"
    assert result.aligned is False
    assert result.refused_by_policy


@pytest.mark.django_db
def test_two_spf_records_are_an_error_even_when_dkim_aligns(dns_settings):
    result = sender_auth.check_now("twospf.example")
    assert result.spf.status == Status.FAIL
    assert result.dkim.status == Status.PASS and result.aligned is True
    assert result.problems() == [result.spf.note]


@pytest.mark.django_db
def test_a_subdomain_without_dmarc_inherits_the_organisational_domains_subdomain_policy(dns_settings):
    result = sender_auth.check_now("news.pass.example")
    assert result.dmarc.status == Status.PASS
    assert result.policy == "quarantine"  # sp= of _dmarc.pass.example
    assert "_dmarc.pass.example" in result.dmarc.note
    # The transport signs for pass.example, which aligns (relaxed) with news.pass.example.
    assert result.dkim.status == Status.PASS and result.aligned is True


@pytest.mark.django_db
def test_strict_dkim_alignment_needs_the_very_same_domain(dns_settings, settings):
    set_mailguard(settings, DKIM_SIGNING_DOMAINS=["pass.example"])
    assert sender_auth.check_now("strict.example").dkim.status == Status.FAIL  # another organisation
    set_mailguard(settings, DKIM_SIGNING_DOMAINS=["strict.example"])
    assert sender_auth.check_now("strict.example").aligned is True
    assert sender_auth.check_now("news.strict.example").aligned is False  # adkim=s via the org's record


@pytest.mark.django_db
def test_without_the_transport_configured_alignment_is_unknown_and_never_blocks(dns_settings, settings):
    set_mailguard(settings, DKIM_SIGNING_DOMAINS=[], DKIM_SELECTORS=[], SPF_INCLUDES=[])
    result = sender_auth.check_now("fail.example")
    assert result.aligned is None and not result.refused_by_policy
    assert result.dkim.status == Status.NOT_CONFIGURED
    assert result.spf.status == Status.PASS  # published; not compared with any transport


@pytest.mark.django_db
def test_a_dns_server_that_never_answers_gives_not_checked(settings):
    with SilentDNS() as silent:
        set_mailguard(settings, SENDER_AUTH_CHECK=True, DNS_NAMESERVERS=[silent.nameserver],
                      DNS_TIMEOUT_SECONDS=0.5, **TRANSPORT)
        result = sender_auth.check_now("pass.example")
    assert not result.answered
    assert {result.spf.status, result.dkim.status, result.dmarc.status} == {Status.NOT_CHECKED}
    assert result.aligned is None and result.problems() == []
    assert SenderDomainCheck.objects.get(domain="pass.example").answered is False


@pytest.mark.django_db
def test_a_closed_port_and_an_unusable_nameserver_give_not_checked(settings):
    probe = SilentDNS().__enter__()
    closed = probe.nameserver
    probe.__exit__()
    for nameserver in (closed, "not-an-ip"):
        set_mailguard(settings, SENDER_AUTH_CHECK=True, DNS_NAMESERVERS=[nameserver], DNS_TIMEOUT_SECONDS=0.5)
        assert not sender_auth.check_now("pass.example").answered


# --- The cache ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_preflight_reuses_the_stored_result_until_it_is_stale(dns_settings, drafter, local_dns):
    sender = SenderIdentity.objects.create(display_name="広報", email="koho@pass.example")
    campaign = draft_campaign(drafter, sender, members(3))
    asked = len(local_dns.questions)
    guards.run_preflight(campaign)
    first = len(local_dns.questions)
    assert first > asked
    for _ in range(3):
        guards.run_preflight(campaign)
    assert len(local_dns.questions) == first  # page views read the stored records
    SenderDomainCheck.objects.filter(domain="pass.example").update(
        checked_at=timezone.now() - timedelta(seconds=dns_settings.MAILGUARD["SENDER_AUTH_MAX_AGE_SECONDS"] + 1))
    guards.run_preflight(campaign)
    assert len(local_dns.questions) > first


@pytest.mark.django_db
def test_changing_the_dkim_selectors_makes_the_stored_result_stale(dns_settings, settings, local_dns):
    sender = SenderIdentity.objects.create(display_name="広報", email="koho@pass.example")
    assert sender_auth.assessment_for_sender(sender).dkim.status == Status.PASS
    set_mailguard(settings, DKIM_SELECTORS=["s2024"])
    assert sender_auth.assessment_for_sender(sender).dkim.status == Status.MISSING
    assert "s2024._domainkey.pass.example." in local_dns.questions


@pytest.mark.django_db
def test_switched_off_nothing_is_asked_and_nothing_is_found(settings, drafter, local_dns):
    set_mailguard(settings, SENDER_AUTH_CHECK=False, DNS_NAMESERVERS=[local_dns.nameserver])
    sender = SenderIdentity.objects.create(display_name="広報", email="koho@fail.example")
    asked = len(local_dns.questions)
    findings = guards.run_preflight(draft_campaign(drafter, sender, members(2)))
    assert not [f for f in findings if f.code.startswith("sender.")]
    assert len(local_dns.questions) == asked


# --- What the drafter and the reviewer see ------------------------------------------------------


def sender_findings(campaign) -> dict[str, str]:
    return {f.code: str(f.severity) for f in guards.run_preflight(campaign) if f.code.startswith("sender.")}


@pytest.mark.django_db
def test_the_preflight_findings_for_pass_missing_fail_and_offline(dns_settings, settings, drafter):
    def findings_for(address):
        sender = SenderIdentity.objects.create(display_name=address, email=address)
        return sender_findings(draft_campaign(drafter, sender, members(2)))

    assert findings_for("koho@pass.example") == {}
    assert findings_for("koho@bare.example") == {"sender.authentication": "acknowledge"}
    assert findings_for("koho@twospf.example") == {"sender.authentication": "acknowledge"}
    assert findings_for("koho@quarantine.example") == {"sender.authentication": "acknowledge"}
    assert findings_for("koho@fail.example") == {"sender.dmarc_reject_unaligned": "block"}
    with SilentDNS() as silent:
        set_mailguard(settings, DNS_NAMESERVERS=[silent.nameserver], DNS_TIMEOUT_SECONDS=0.5)
        assert findings_for("koho@offline.example") == {"sender.auth_not_checked": "info"}


@pytest.mark.django_db
def test_a_p_reject_domain_the_transport_cannot_align_blocks_submission_on_the_page(
        dns_settings, drafter, client_for):
    sender = SenderIdentity.objects.create(display_name="広報", email="koho@fail.example")
    campaign = draft_campaign(drafter, sender, members(2))
    client = client_for(drafter)
    page = client.get(reverse("campaign_edit", args=[campaign.pk])).content.decode()
    assert 'data-code="sender.dmarc_reject_unaligned"' in page
    assert "p=reject" in page
    response = client.post(reverse("campaign_submit", args=[campaign.pk]), follow=True)
    assert "p=reject" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.state == "draft"


@pytest.mark.django_db
def test_the_reviewer_must_acknowledge_a_domain_that_does_not_authenticate(dns_settings, drafter, reviewer, client_for):
    sender = SenderIdentity.objects.create(display_name="広報", email="koho@bare.example")
    campaign = draft_campaign(drafter, sender, members(2))
    workflow.submit(campaign, drafter)
    campaign.refresh_from_db()
    [finding] = [f for f in campaign.findings if f["code"] == "sender.authentication"]
    message = display(finding)["message"]
    assert "no SPF record" in message and "no DMARC record" in message
    page = client_for(reviewer).get(reverse("review", args=[campaign.pk])).content.decode()
    assert finding["key"] in page
    keys = review_everything(campaign, reviewer)
    with pytest.raises(workflow.WorkflowError):
        workflow.approve(campaign, reviewer, campaign.submitted_hash, acknowledged=[])
    assert finding["key"] in keys
    approve_after_review(campaign, reviewer)
    assert campaign.state == "approved"


# --- What the administrator sees ------------------------------------------------------------------


@pytest.fixture
def admin_user(db, django_user_model):
    return make_user(django_user_model, "root", is_superuser=True, is_staff=True)


@pytest.mark.django_db
def test_the_admin_checks_now_and_lists_the_result_of_each_sender(dns_settings, admin_user, client_for):
    good = SenderIdentity.objects.create(display_name="広報", email="koho@pass.example")
    bad = SenderIdentity.objects.create(display_name="総務", email="somu@fail.example")
    client = client_for(admin_user)
    listing = client.get(reverse("admin:approvals_senderidentity_changelist")).content.decode()
    assert listing.count("not checked yet") >= 2  # listing never waits on DNS
    response = client.post(reverse("admin:approvals_senderidentity_changelist"),
                           {"action": "check_now", "_selected_action": [good.pk, bad.pk]}, follow=True)
    page = response.content.decode()
    assert "Sender domain pass.example: authenticated and aligned" in page
    assert "Sender domain fail.example: receivers will refuse these messages" in page
    assert SenderDomainCheck.objects.filter(answered=True).count() == 2
    detail = client.get(reverse("admin:approvals_senderidentity_change", args=[bad.pk])).content.decode()
    assert 'id="sender-authentication"' in detail and "revoked" in detail


@pytest.mark.django_db
def test_the_edit_page_reuses_its_findings_until_the_stored_result_is_stale(dns_settings, drafter, local_dns):
    """The stored findings are keyed by the sender domain's last check: a stale one is looked up again."""
    sender = SenderIdentity.objects.create(display_name="広報", email="koho@pass.example")
    campaign = draft_campaign(drafter, sender, members(3))
    workflow.current_findings(campaign)
    asked = len(local_dns.questions)
    workflow.current_findings(campaign)
    assert len(local_dns.questions) == asked
    SenderDomainCheck.objects.filter(domain="pass.example").update(
        checked_at=timezone.now() - timedelta(seconds=dns_settings.MAILGUARD["SENDER_AUTH_MAX_AGE_SECONDS"] + 1))
    workflow.current_findings(campaign)
    assert len(local_dns.questions) > asked
