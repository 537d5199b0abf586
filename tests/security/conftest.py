"""Fixtures for the security tests: the people of the URL × role matrix, their campaigns,
two-factor sign-in switched on or off, and the browser fixtures of tests/browser."""

import os
import secrets

import pytest

from approvals.roles import Role
from tests.conftest import make_user
from tests.factories import draft_campaign, members, submitted_campaign

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _two_factor_off(settings):
    """Two-factor sign-in is off unless a test turns it on (the two_factor fixture)."""
    settings.MAILGUARD_REQUIRE_2FA = False


@pytest.fixture
def two_factor(settings):
    settings.MAILGUARD_REQUIRE_2FA = True
    return settings


@pytest.fixture
def owner(db, django_user_model):
    return make_user(django_user_model, "owner", Role.DRAFTER)


@pytest.fixture
def other_drafter(db, django_user_model):
    return make_user(django_user_model, "other", Role.DRAFTER)


@pytest.fixture
def superuser(db, django_user_model):
    """An administrator who holds none of the three roles."""
    return make_user(django_user_model, "root", is_superuser=True, is_staff=True)


def campaign_with_attachment(drafter, sender, *, submitted: bool, **kwargs):
    make = submitted_campaign if submitted else draft_campaign
    return make(drafter, sender, members(2), html="<p>{{氏名}} 様</p>",
                attachments=[("guide.pdf", PDF, "application/pdf")], **kwargs)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Hundreds of users are created here; PBKDF2's cost is not what these tests are about."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def fresh_environment(**env) -> dict[str, str]:
    """This process's environment without MailGuard's settings and without what the browser
    fixture sets for itself (DJANGO_ALLOW_ASYNC_UNSAFE), plus ``env``: for a settings subprocess."""
    keep = {k: v for k, v in os.environ.items()
            if (not k.startswith("MAILGUARD_") or k == "MAILGUARD_VAR_DIR") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {**keep, "DJANGO_SETTINGS_MODULE": "mailguard.settings", **env}


def production_environment(**extra) -> dict[str, str]:
    """What production settings need: a secret key, hosts, the audit key and the webhook secret."""
    return {"MAILGUARD_PRODUCTION": "1", "MAILGUARD_SECRET_KEY": secrets.token_urlsafe(50),
            "MAILGUARD_ALLOWED_HOSTS": "mailguard.example.jp", "MAILGUARD_AUDIT_KEY": secrets.token_hex(32),
            "ANYMAIL_WEBHOOK_SECRET": "esp:" + secrets.token_urlsafe(16), **extra}
