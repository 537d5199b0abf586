"""A site-wide Content-Security-Policy (django-csp) that no inline script or style can pass,
and templates that need none."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from .conftest import campaign_with_attachment
from .test_access_matrix import ACTORS, TABLE, _expected, _takes_campaign, url_for
from .test_html_preview import csp_directives

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))

INLINE_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
STYLE_ATTRIBUTE = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style\b", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)
# <script type="application/json"> (json_script) is data, not code: CSP does not run it.
DATA_SCRIPT = re.compile(r"""type\s*=\s*["']application/(?:ld\+)?json["']""", re.IGNORECASE)

UNSAFE_SOURCES = {"'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "'strict-dynamic'", "*", "data:",
                  "http:", "https:", "blob:"}


def effective(policy: dict[str, list[str]], directive: str) -> list[str]:
    return policy.get(directive, policy.get("default-src", []))


def assert_strict_csp(response, where: str) -> None:
    assert "Content-Security-Policy" in response, f"no CSP on {where}"
    policy = csp_directives(response["Content-Security-Policy"])
    scripts = effective(policy, "script-src")
    assert scripts, f"{where}: neither script-src nor default-src"
    assert not set(scripts) & UNSAFE_SOURCES, f"{where}: script-src {scripts}"
    assert not set(effective(policy, "style-src")) & {"'unsafe-inline'", "*"} or "sandbox" in policy, where
    assert effective(policy, "object-src") == ["'none'"], where
    if "sandbox" not in policy:  # the sandboxed preview is framed by the review page only
        assert policy.get("frame-ancestors") in (["'self'"], ["'none'"]), where
        assert policy.get("base-uri") in (["'none'"], ["'self'"]), where


def assert_no_inline_code(html: str, where: str) -> None:
    for match in INLINE_SCRIPT.finditer(html):
        if DATA_SCRIPT.search(match.group(1)):
            continue
        assert "src=" in match.group(1) and not match.group(2).strip(), f"{where}: inline script {match.group(0)[:80]}"
    for pattern in (STYLE_ATTRIBUTE, STYLE_ELEMENT, EVENT_HANDLER, JAVASCRIPT_URL):
        found = pattern.search(html)
        assert not found, f"{where}: {found.group(0)[:80]}"


def test_settings_policy_has_no_inline_script():
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    assert "'unsafe-inline'" not in directives["script-src"] and "'unsafe-eval'" not in directives["script-src"]
    assert "'unsafe-inline'" not in directives["style-src"]
    assert "csp.middleware.CSPMiddleware" in settings.MIDDLEWARE


GET_PAGES = [name for name, row in TABLE.items() if row[0] == "GET"]


@pytest.mark.parametrize("name", GET_PAGES)
def test_every_page_of_the_app_carries_the_strict_policy_and_no_inline_code(
        name, owner, other_drafter, reviewer, auditor, superuser, sender, client_for):
    people = {"owner": owner, "other": other_drafter, "reviewer": reviewer, "auditor": auditor, "root": superuser}
    obj = None
    if _takes_campaign(name):  # a campaign some people may open (the edit page: a draft)
        obj = "in_review" if any(_expected(name, a, "in_review") == 200 for a in ACTORS) else "draft"
    campaign = campaign_with_attachment(owner, sender, submitted=(obj == "in_review")) if obj else None
    allowed = [a for a in ACTORS[1:] if _expected(name, a, obj) == 200]
    assert allowed or name == "home"
    for actor in allowed or ["owner"]:
        response = client_for(people[actor]).get(url_for(name, campaign), follow=True)
        where = f"{name} as {actor}"
        assert response.status_code == 200, where
        assert_strict_csp(response, where)
        if response["Content-Type"].startswith("text/html") and name != "preview_html":
            assert_no_inline_code(response.content.decode(), where)


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_sign_in_pages_carry_the_policy(path, client):
    response = client.get(path)
    assert response.status_code == 200
    assert_strict_csp(response, path)
    if path.startswith("/accounts/"):
        assert_no_inline_code(response.content.decode(), path)


def test_admin_pages_carry_the_policy(superuser, client_for):
    response = client_for(superuser).get("/admin/")
    assert response.status_code == 200
    assert_strict_csp(response, "/admin/")


@pytest.mark.parametrize("name", ["otp_setup", "otp_verify"])
def test_two_factor_pages_carry_the_policy_and_no_inline_code(name, two_factor, reviewer, client_for):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if name == "otp_verify":
        TOTPDevice.objects.create(user=reviewer, name="app", confirmed=True)
    response = client_for(reviewer).get(reverse(name))
    assert response.status_code == 200
    assert_strict_csp(response, name)
    assert_no_inline_code(response.content.decode(), name)


def test_templates_exist_to_be_checked():
    assert len(TEMPLATES) > 10


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT / "templates")))
def test_templates_have_no_inline_script_style_or_handlers(template):
    """The policy would block them in the browser; they must not be written in the first place."""
    assert_no_inline_code(template.read_text(encoding="utf-8"), str(template.relative_to(ROOT)))
