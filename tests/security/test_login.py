"""Signing in: password guessing locked out by django-axes with one generic message, cookies
that scripts and other sites cannot use, and sessions that end with the account."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from approvals.models import Campaign

from .conftest import fresh_environment, production_environment

ROOT = Path(__file__).resolve().parents[2]
LOGIN = "/accounts/login/"
GENERIC = "Please enter a correct username and password"
LOCKED = "Too many failed sign-in attempts"


def english_client(**extra) -> Client:
    return Client(headers={"accept-language": "en"}, **extra)


def sign_in(client: Client, username: str, password: str):
    return client.post(LOGIN, {"username": username, "password": password})


def signed_in(client: Client) -> bool:
    response = client.get(reverse("campaign_list"))
    return response.status_code == 200


def login_errors(response) -> list[str]:
    return list(response.context["form"].non_field_errors())


# --- One message for every failure ---------------------------------------------------------


def test_wrong_user_wrong_password_and_inactive_account_get_the_same_message(drafter, django_user_model):
    from tests.conftest import make_user

    make_user(django_user_model, "gone", is_active=False)
    answers = {
        "unknown user": sign_in(english_client(), "nobody-here", "pw-drafter"),
        "wrong password": sign_in(english_client(), "drafter", "not-the-password"),
        "inactive account": sign_in(english_client(), "gone", "pw-gone"),
    }
    errors = {case: login_errors(response) for case, response in answers.items()}
    assert all(response.status_code == 200 for response in answers.values())
    assert len({tuple(e) for e in errors.values()}) == 1, errors
    assert GENERIC in errors["unknown user"][0]


def test_the_right_password_signs_in(drafter):
    client = english_client()
    assert sign_in(client, "drafter", "pw-drafter").status_code == 302
    assert signed_in(client)


# --- Lockout ---------------------------------------------------------------------------------


def test_axes_is_on_with_a_small_failure_limit():
    assert settings.AXES_ENABLED is True
    assert 3 <= settings.AXES_FAILURE_LIMIT <= 10
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"


def fail_until_locked(client: Client, username: str):
    """Wrong passwords up to the limit; returns the answer to the last one."""
    limit = settings.AXES_FAILURE_LIMIT
    for attempt in range(1, limit):
        response = sign_in(client, username, f"guess-{attempt}")
        assert response.status_code == 200 and GENERIC in login_errors(response)[0], attempt
    return sign_in(client, username, f"guess-{limit}")


def test_after_the_configured_failures_even_the_right_password_is_refused(drafter):
    client = english_client()
    locked = fail_until_locked(client, "drafter")
    assert locked.status_code == 429
    assert LOCKED in locked.content.decode()
    right = sign_in(client, "drafter", "pw-drafter")
    assert right.status_code == 429 and LOCKED in right.content.decode()
    assert not signed_in(client)


def test_one_guess_less_than_the_limit_does_not_lock(drafter):
    client = english_client()
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "drafter", f"guess-{attempt}")
    assert sign_in(client, "drafter", "pw-drafter").status_code == 302


def without_tokens(response) -> str:
    """The page with its per-request CSRF token blanked out."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())


def test_lockout_looks_the_same_for_an_unknown_username(drafter):
    """Locking out does not reveal which usernames exist."""
    known = fail_until_locked(english_client(), "drafter")
    unknown = fail_until_locked(english_client(), "no-such-user")
    assert known.status_code == unknown.status_code == 429
    assert without_tokens(known) == without_tokens(unknown)


def test_lockout_is_per_username_and_address(drafter):
    """Someone guessing from one address cannot lock the real user out from another."""
    fail_until_locked(english_client(REMOTE_ADDR="203.0.113.9"), "drafter")
    elsewhere = english_client(REMOTE_ADDR="198.51.100.7")
    assert sign_in(elsewhere, "drafter", "pw-drafter").status_code == 302


# --- Sessions end with the account -----------------------------------------------------------


@pytest.mark.parametrize("how", ["password", "force_login"])
def test_deactivating_a_user_ends_their_session(how, drafter):
    client = english_client()
    if how == "password":
        assert sign_in(client, "drafter", "pw-drafter").status_code == 302
    else:
        client.force_login(drafter)
    assert signed_in(client)
    drafter.is_active = False
    drafter.save(update_fields=["is_active"])
    response = client.get(reverse("campaign_list"))
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_a_deactivated_reviewer_cannot_approve_with_an_open_session(drafter, reviewer, sender):
    from tests.factories import members, review_everything, submitted_campaign

    campaign = submitted_campaign(drafter, sender, members(1))
    acknowledged = review_everything(campaign, reviewer)
    client = english_client()
    client.force_login(reviewer)
    reviewer.is_active = False
    reviewer.save(update_fields=["is_active"])
    response = client.post(reverse("approve", args=[campaign.pk]),
                           {"content_hash": campaign.submitted_hash, "acknowledge": acknowledged})
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.IN_REVIEW


# --- Cookies -----------------------------------------------------------------------------------


def test_session_and_csrf_cookies_are_http_only_and_same_site(drafter):
    client = english_client()
    client.get(LOGIN)
    response = sign_in(client, "drafter", "pw-drafter")
    session = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session["httponly"] and session["samesite"] == "Lax"
    csrf = client.cookies[settings.CSRF_COOKIE_NAME]
    assert csrf["httponly"] and csrf["samesite"] == "Lax"


def test_signing_in_gives_a_new_session_key(drafter):
    """No session fixation: the key a visitor had before signing in is not the one after."""
    client = english_client()
    client.get(LOGIN)
    session = client.session
    session["seen"] = True
    session.save()
    before = client.cookies[settings.SESSION_COOKIE_NAME].value
    sign_in(client, "drafter", "pw-drafter")
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != before


SETTINGS_PROBE = """
import json
from django.conf import settings as s
names = ["DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
         "CSRF_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SAMESITE", "SECURE_SSL_REDIRECT",
         "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_CONTENT_TYPE_NOSNIFF",
         "SECURE_PROXY_SSL_HEADER", "MAILGUARD_REQUIRE_2FA", "ALLOWED_HOSTS", "AXES_ENABLED"]
print(json.dumps({n: getattr(s, n, None) for n in names}))
"""


def settings_with(**env) -> dict:
    """The settings module imported afresh in another process with this environment."""
    result = subprocess.run([sys.executable, "-c", SETTINGS_PROBE], cwd=ROOT, env=fresh_environment(**env),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def production_env(**extra) -> dict:
    return production_environment(**extra)


def test_production_settings_make_cookies_secure_and_require_https():
    prod = settings_with(**production_env())
    assert prod["DEBUG"] is False
    assert prod["SESSION_COOKIE_SECURE"] is True and prod["CSRF_COOKIE_SECURE"] is True
    assert prod["SESSION_COOKIE_HTTPONLY"] is True and prod["CSRF_COOKIE_HTTPONLY"] is True
    assert prod["SESSION_COOKIE_SAMESITE"] in ("Lax", "Strict") and prod["CSRF_COOKIE_SAMESITE"] in ("Lax", "Strict")
    assert prod["SECURE_SSL_REDIRECT"] is True
    assert prod["SECURE_HSTS_SECONDS"] >= 31536000 and prod["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert prod["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert prod["MAILGUARD_REQUIRE_2FA"] is True
    assert prod["AXES_ENABLED"] is True
    assert prod["ALLOWED_HOSTS"] == ["mailguard.example.jp"]


def test_production_cannot_start_without_a_secret_key():
    result = subprocess.run([sys.executable, "-c", SETTINGS_PROBE], cwd=ROOT,
                            env=fresh_environment(MAILGUARD_PRODUCTION="1"),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "MAILGUARD_SECRET_KEY" in result.stderr


def test_production_cannot_start_without_an_audit_key():
    """The audit chain's key must come from the environment, never from the database or a default."""
    environment = production_environment()
    del environment["MAILGUARD_AUDIT_KEY"]
    result = subprocess.run([sys.executable, "-c", SETTINGS_PROBE], cwd=ROOT, env=fresh_environment(**environment),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "MAILGUARD_AUDIT_KEY" in result.stderr


def test_production_ignores_the_debug_switch():
    assert settings_with(**production_env(MAILGUARD_DEBUG="1"))["DEBUG"] is False


@pytest.mark.parametrize(("env", "required"), [
    ({}, False),                                       # the embedded demo
    ({"MAILGUARD_REQUIRE_2FA": "1"}, True),
    ("production", True),
    ("production-relaxed", False),                     # an explicit choice, e.g. a staging demo
])
def test_two_factor_is_required_by_default_in_production_only(env, required):
    if env == "production":
        env = production_env()
    elif env == "production-relaxed":
        env = production_env(MAILGUARD_REQUIRE_2FA="0")
    assert settings_with(**env)["MAILGUARD_REQUIRE_2FA"] is required
