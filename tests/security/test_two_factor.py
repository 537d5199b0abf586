"""TOTP two-factor sign-in (django-otp) for reviewers, auditors and administrators."""

import re
from base64 import b32encode
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from approvals.models import Campaign
from tests.conftest import make_user
from tests.factories import members, review_everything, submitted_campaign

SETUP = reverse("otp_setup")
VERIFY = reverse("otp_verify")


def code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows now (or ``steps_ahead`` time steps later)."""
    token = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits,
                 drift=device.drift + steps_ahead)
    return f"{token:0{device.digits}d}"


def wrong_code(device: TOTPDevice) -> str:
    right = {code(device, n) for n in (-2, -1, 0, 1, 2)}
    return next(c for c in (f"{n:06d}" for n in range(0, 999999, 7919)) if c not in right)


def client_of(user) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def confirmed_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def redirect_target(response) -> tuple[str, dict]:
    assert response.status_code == 302
    parts = urlsplit(response["Location"])
    return parts.path, parse_qs(parts.query)


@pytest.fixture
def staff(db, django_user_model):
    return make_user(django_user_model, "staffer", is_staff=True)


@pytest.fixture
def people(drafter, reviewer, auditor, superuser, staff):
    return {"drafter": drafter, "reviewer": reviewer, "auditor": auditor, "superuser": superuser, "staff": staff}


# --- Who must -----------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "page"), [
    ("reviewer", "/review/"), ("auditor", "/audit/"), ("superuser", "/admin/"), ("staff", "/admin/"),
])
def test_people_who_approve_audit_or_administer_are_sent_to_set_up(who, page, two_factor, people):
    path, query = redirect_target(client_of(people[who]).get(page))
    assert path == SETUP and query["next"] == [page]


def test_a_drafter_is_not_asked(two_factor, drafter):
    assert client_of(drafter).get(reverse("campaign_list")).status_code == 200


def test_with_the_setting_off_nobody_is_asked(reviewer):
    assert settings.MAILGUARD_REQUIRE_2FA is False  # tests/security/conftest.py
    assert client_of(reviewer).get(reverse("review_queue")).status_code == 200


def test_every_reviewer_page_and_action_is_behind_it(two_factor, drafter, reviewer, sender):
    campaign = submitted_campaign(drafter, sender, members(1),
                                  attachments=[("a.pdf", b"%PDF-1.4 x", "application/pdf")])
    client = client_of(reviewer)
    pages = [reverse("review", args=[campaign.pk]), reverse("campaign_detail", args=[campaign.pk]),
             reverse("campaign_progress", args=[campaign.pk]),
             reverse("preview_html", args=[campaign.pk, campaign.recipients.get().pk]),
             reverse("attachment_download", args=[campaign.pk, campaign.attachments.get().pk]), "/"]
    for page in pages:
        assert redirect_target(client.get(page))[0] == SETUP, page
    acknowledged = review_everything(campaign, reviewer)
    response = client.post(reverse("approve", args=[campaign.pk]),
                           {"content_hash": campaign.submitted_hash, "acknowledge": acknowledged})
    assert redirect_target(response)[0] == SETUP
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.IN_REVIEW


def test_signing_out_and_the_language_switch_stay_reachable(two_factor, reviewer):
    client = client_of(reviewer)
    assert client.post(reverse("set_language"), {"language": "en", "next": "/"}).status_code == 302
    assert client.post(reverse("logout")).status_code == 302
    assert redirect_target(client.get(reverse("review_queue")))[0] == reverse("login")


# --- Setting up ----------------------------------------------------------------------------


def test_set_up_shows_the_secret_as_text_and_keeps_it_until_confirmed(two_factor, reviewer):
    client = client_of(reviewer)
    first = client.get(SETUP + "?next=/review/")
    assert first.status_code == 200
    device = TOTPDevice.objects.get(user=reviewer)
    assert device.confirmed is False
    page = first.content.decode()
    secret = b32encode(device.bin_key).decode()
    assert re.sub(r"\s", "", first.context["secret"]) == secret
    assert "otpauth://totp/MailGuard%3Areviewer?secret=" + secret in page.replace("&amp;", "&")
    client.get(SETUP)
    assert TOTPDevice.objects.filter(user=reviewer).count() == 1  # the same device, not a new secret


def test_confirming_with_the_apps_code_sets_it_up_and_opens_the_pages(two_factor, reviewer):
    client = client_of(reviewer)
    client.get(SETUP + "?next=/review/")
    device = TOTPDevice.objects.get(user=reviewer)
    response = client.post(SETUP, {"token": code(device), "next": "/review/"})
    assert response.status_code == 302 and response["Location"] == "/review/"
    device.refresh_from_db()
    assert device.confirmed is True
    assert client.get(reverse("review_queue")).status_code == 200
    assert client.get(reverse("audit_campaigns")).status_code == 403  # still only a reviewer


def test_a_wrong_code_does_not_set_it_up(two_factor, reviewer):
    client = client_of(reviewer)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=reviewer)
    response = client.post(SETUP, {"token": wrong_code(device)})
    assert response.status_code == 200 and response.context["form"].errors["token"]
    device.refresh_from_db()
    assert device.confirmed is False
    assert redirect_target(client.get(reverse("review_queue")))[0] == SETUP


@pytest.mark.parametrize("token", ["", "abcdef", "12345", "1234567890123"])
def test_malformed_codes_are_refused(token, two_factor, reviewer):
    client = client_of(reviewer)
    client.get(SETUP)
    response = client.post(SETUP, {"token": token})
    assert response.status_code == 200 and response.context["form"].errors
    assert not TOTPDevice.objects.get(user=reviewer).confirmed


def test_once_confirmed_the_secret_is_never_shown_again(two_factor, reviewer):
    device = confirmed_device(reviewer)
    response = client_of(reviewer).get(SETUP)
    assert redirect_target(response)[0] == VERIFY
    assert b32encode(device.bin_key).decode() not in response.content.decode()


# --- Verifying at each sign-in ---------------------------------------------------------------


def test_with_a_device_the_person_is_asked_for_a_code_and_gets_in(two_factor, reviewer):
    device = confirmed_device(reviewer)
    client = client_of(reviewer)
    path, query = redirect_target(client.get(reverse("review_queue")))
    assert path == VERIFY and query["next"] == ["/review/"]
    assert client.get(VERIFY + "?next=/review/").status_code == 200
    response = client.post(VERIFY, {"token": code(device), "next": "/review/"})
    assert response.status_code == 302 and response["Location"] == "/review/"
    assert client.get(reverse("review_queue")).status_code == 200
    # Another session of the same person still has to enter a code.
    assert redirect_target(client_of(reviewer).get(reverse("review_queue")))[0] == VERIFY


def test_a_wrong_code_is_refused(two_factor, reviewer):
    device = confirmed_device(reviewer)
    client = client_of(reviewer)
    response = client.post(VERIFY, {"token": wrong_code(device)})
    assert response.status_code == 200 and response.context["form"].errors["token"]
    assert redirect_target(client.get(reverse("review_queue")))[0] == VERIFY


def test_a_code_cannot_be_used_twice(two_factor, reviewer):
    device = confirmed_device(reviewer)
    token = code(device)
    assert client_of(reviewer).post(VERIFY, {"token": token}).status_code == 302
    replay = client_of(reviewer)
    response = replay.post(VERIFY, {"token": token})
    assert response.status_code == 200
    assert redirect_target(replay.get(reverse("review_queue")))[0] == VERIFY


def test_guessing_is_throttled(two_factor, reviewer):
    """After a wrong code, even the right one is refused until the wait is over."""
    device = confirmed_device(reviewer)
    client = client_of(reviewer)
    client.post(VERIFY, {"token": wrong_code(device)})
    response = client.post(VERIFY, {"token": code(device)})
    assert response.status_code == 200
    assert redirect_target(client.get(reverse("review_queue")))[0] == VERIFY


def test_someone_elses_device_does_not_count(two_factor, reviewer, reviewer2):
    other = confirmed_device(reviewer2)
    client = client_of(reviewer)
    assert redirect_target(client.get(VERIFY))[0] == SETUP  # reviewer has no device of their own
    client.get(SETUP)
    response = client.post(SETUP, {"token": code(other)})
    assert response.status_code == 200
    assert not TOTPDevice.objects.get(user=reviewer).confirmed


def test_next_cannot_lead_to_another_site(two_factor, reviewer):
    device = confirmed_device(reviewer)
    response = client_of(reviewer).post(VERIFY, {"token": code(device), "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == reverse(settings.LOGIN_REDIRECT_URL)


def test_removing_the_device_ends_the_verified_state(two_factor, reviewer):
    device = confirmed_device(reviewer)
    client = client_of(reviewer)
    client.post(VERIFY, {"token": code(device)})
    assert client.get(reverse("review_queue")).status_code == 200
    device.delete()  # an administrator removes a lost phone
    assert redirect_target(client.get(reverse("review_queue")))[0] == SETUP


def test_a_superuser_gets_to_the_admin_after_verifying(two_factor, superuser):
    device = confirmed_device(superuser)
    client = client_of(superuser)
    assert redirect_target(client.get("/admin/"))[0] == VERIFY
    client.post(VERIFY, {"token": code(device), "next": "/admin/"})
    assert client.get("/admin/").status_code == 200


def test_the_whole_sign_in_with_password_then_code(two_factor, reviewer):
    """Through the real sign-in form, as a person does it."""
    device = confirmed_device(reviewer)
    client = Client(headers={"accept-language": "en"})
    response = client.post(reverse("login") + "?next=/review/",
                           {"username": "reviewer", "password": "pw-reviewer", "next": "/review/"})
    assert response.status_code == 302 and response["Location"] == "/review/"
    path, query = redirect_target(client.get("/review/"))
    assert path == VERIFY
    response = client.post(VERIFY, {"token": code(device), "next": query["next"][0]})
    assert response["Location"] == "/review/"
    assert client.get("/review/").status_code == 200
