"""Drafter HTML is untrusted: cleaned by nh3, and shown only inside a sandboxed frame."""

import re

import pytest
from django.urls import reverse

from approvals import workflow
from approvals.rendering import render_for
from tests.factories import members, upload_list

# What a hostile (or compromised) drafter account could write into the HTML body.
# {pk} is the campaign's own id, so the payloads aim at the real approve URL.
PAYLOADS = [
    "<script>fetch('/review/{pk}/approve/',{{method:'POST'}})</script>",
    "<img src=x onerror=\"fetch('/review/{pk}/approve/',{{method:'POST'}})\">",
    "<a id=js-link href=\"javascript:fetch('/review/{pk}/approve/',{{method:'POST'}})\">open</a>",
    "<form action=\"/review/{pk}/approve/\" method=\"post\"><input name=content_hash value=x autofocus "
    "onfocus=\"this.form.submit()\"><button id=evil-submit type=submit>Approve</button></form>",
    "<meta http-equiv=\"refresh\" content=\"0;url=/admin/\">",
    "<iframe src=\"/admin/\"></iframe>",
    "<svg onload=\"fetch('/review/{pk}/approve/',{{method:'POST'}})\"><circle r=\"1\"/></svg>",
    "<a id=top-link href=\"/admin/\" target=\"_top\">top</a>",
    "<object data=\"/admin/\"></object><embed src=\"/admin/\">",
    "<base href=\"/admin/\"><link rel=stylesheet href=\"/admin/\">",
    "<p style=\"background:url(/admin/)\">styled</p>",
]

# None of this may survive the cleaning.
FORBIDDEN = re.compile(
    r"<script|<iframe|<meta|<form|<input|<svg|<object|<embed|<base|<link|<style|javascript:"
    r"|\son[a-z]+\s*=|\sstyle\s*=|autofocus|target=", re.IGNORECASE)

SANDBOX_ESCAPES = ("allow-scripts", "allow-same-origin", "allow-forms", "allow-top-navigation",
                   "allow-popups", "allow-modals")


def malicious_html(pk: int) -> str:
    return "<p>{{氏名}} 様</p>" + "".join(p.format(pk=pk) for p in PAYLOADS)


def malicious_campaign(drafter, sender, *, submit: bool = True):
    """A campaign whose HTML body carries every payload aimed at its own approve URL."""
    campaign = workflow.create_campaign(drafter, "悪意のあるHTML")
    upload_list(campaign, drafter, members(2))
    workflow.update_message(campaign, drafter, sender=sender, recipient_mode="individual",
                            subject="{{氏名}} 様", body_text="{{氏名}} 様", body_html=malicious_html(campaign.pk))
    if submit:
        workflow.submit(campaign, drafter)
    campaign.refresh_from_db()
    return campaign


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


@pytest.fixture
def campaign(drafter, sender):
    return malicious_campaign(drafter, sender)


def test_rendering_cleans_every_payload(campaign):
    html = render_for(campaign, campaign.recipients.first()).html
    assert "様" in html
    assert not FORBIDDEN.search(html), FORBIDDEN.search(html).group(0)


def test_preview_is_served_cleaned_and_sandboxed(campaign, reviewer, client_for):
    recipient = campaign.recipients.first()
    response = client_for(reviewer).get(reverse("preview_html", args=[campaign.pk, recipient.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert recipient.display_name in body
    assert not FORBIDDEN.search(body), FORBIDDEN.search(body).group(0)
    policy = csp_directives(response["Content-Security-Policy"])
    assert "sandbox" in policy
    assert not set(policy["sandbox"]) & set(SANDBOX_ESCAPES), policy["sandbox"]
    # Nothing may be fetched: no scripts, frames, objects, stylesheets or remote images.
    assert policy["default-src"] == ["'none'"]
    for directive in ("script-src", "frame-src", "child-src", "object-src", "connect-src", "form-action"):
        assert directive not in policy or policy[directive] == ["'none'"], directive
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Type"].startswith("text/html")
    # Only this site may frame it (the review page); the header is the one Django adds.
    assert response["X-Frame-Options"] in ("DENY", "SAMEORIGIN")


def test_review_page_frames_the_preview_without_any_sandbox_escape(campaign, reviewer, client_for):
    page = client_for(reviewer).get(reverse("review", args=[campaign.pk])).content.decode()
    frames = re.findall(r"<iframe\b[^>]*>", page)
    assert len(frames) == 1
    frame = frames[0]
    assert re.search(r'\ssandbox=""', frame), frame
    assert not any(escape in frame for escape in SANDBOX_ESCAPES)
    src = re.search(r'\ssrc="([^"]+)"', frame).group(1)
    assert src == reverse("preview_html", args=[campaign.pk, campaign.recipients.first().pk])


@pytest.mark.parametrize("who", ["drafter", "reviewer", "auditor"])
def test_drafter_html_appears_raw_on_no_page(who, campaign, drafter, reviewer, auditor, client_for):
    """Outside the sandboxed preview, the HTML is shown as escaped text if at all."""
    user = {"drafter": drafter, "reviewer": reviewer, "auditor": auditor}[who]
    names = {"drafter": ["campaign_detail"], "reviewer": ["campaign_detail", "review"],
             "auditor": ["campaign_detail", "audit_campaign"]}[who]
    client = client_for(user)
    for name in names:
        page = client.get(reverse(name, args=[campaign.pk]))
        assert page.status_code == 200
        text = page.content.decode()
        assert "<script>fetch(" not in text and "onerror=" not in text and "<svg onload" not in text, name


def test_the_drafters_edit_page_shows_the_html_escaped(drafter, sender, client_for):
    campaign = malicious_campaign(drafter, sender, submit=False)
    text = client_for(drafter).get(reverse("campaign_edit", args=[campaign.pk])).content.decode()
    assert "&lt;script&gt;fetch(" in text
    assert "<script>fetch(" not in text and "<svg onload" not in text
