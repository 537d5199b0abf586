"""In a real browser: hostile drafter HTML on the reviewer's page cannot approve, cannot fetch
anything, and cannot move the reviewer's page, whether the sanitiser catches it or not."""

import threading

import pytest
from django.core.signals import request_started
from django.urls import reverse

from approvals import rendering
from approvals.models import Campaign
from tests.conftest import sign_in

from .test_html_preview import malicious_campaign

pytestmark = pytest.mark.browser


class ServerLog:
    """Every request the live server receives (its WSGI handler runs in this process)."""

    def __init__(self):
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def __call__(self, sender, environ=None, **kwargs):
        if environ is not None:
            with self._lock:
                self.requests.append((environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")))

    def clear(self):
        with self._lock:
            self.requests.clear()

    def paths(self) -> list[str]:
        with self._lock:
            return [path for _method, path in self.requests]


@pytest.fixture
def server_log():
    log = ServerLog()
    request_started.connect(log, weak=False)
    yield log
    request_started.disconnect(log)


def open_review(page, campaign, server_log):
    """Open the review page as the reviewer and let every payload have its chance."""
    # What the browser actually got an answer for; requests the CSP stopped end in
    # "requestfailed" (failure "csp") and never leave the browser.
    browser_requests: list[str] = []
    page.on("response", lambda response: browser_requests.append(response.url))
    popups: list = []
    page.context.on("page", lambda popup: popups.append(popup.url))
    server_log.clear()
    review_url = reverse("review", args=[campaign.pk])
    page.goto(review_url)
    frame = page.frame_locator("iframe.preview-frame")
    # The preview really is there: the payloads were delivered to the browser.
    assert campaign.recipients.first().display_name in frame.locator("body").inner_text()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1500)  # meta refresh, autofocus, timers, onload
    return review_url, frame, browser_requests, popups


def assert_nothing_happened(page, campaign, review_url, browser_requests, popups, server_log):
    preview = reverse("preview_html", args=[campaign.pk, campaign.recipients.first().pk])
    allowed = {review_url, preview, "/favicon.ico"}
    unexpected = [p for p in server_log.paths() if p not in allowed and not p.startswith("/static/")]
    assert not unexpected, f"the server received {unexpected}"
    assert not any("/approve/" in url or "/admin/" in url for url in browser_requests), browser_requests
    assert page.url.endswith(review_url), page.url
    assert not popups
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.IN_REVIEW and campaign.approved_by is None


def test_hostile_html_does_nothing_on_the_reviewers_page(new_page, transactional_db, drafter, reviewer, sender,
                                                         server_log):
    campaign = malicious_campaign(drafter, sender)
    page = new_page("en-US")
    sign_in(page, "reviewer", "pw-reviewer")
    review_url, _frame, requests, popups = open_review(page, campaign, server_log)
    assert_nothing_happened(page, campaign, review_url, requests, popups, server_log)


def test_even_unsanitised_html_is_held_by_the_sandbox(new_page, transactional_db, drafter, reviewer, sender,
                                                      server_log, monkeypatch):
    """Defence in depth: with nh3 switched off, the iframe sandbox and the preview's
    ``Content-Security-Policy: sandbox; default-src 'none'`` still stop every payload,
    including a reviewer clicking the planted button and links."""
    monkeypatch.setattr(rendering, "sanitize_html", lambda html: html)
    campaign = malicious_campaign(drafter, sender)
    page = new_page("en-US")
    sign_in(page, "reviewer", "pw-reviewer")
    review_url, frame, requests, popups = open_review(page, campaign, server_log)
    assert frame.locator("#evil-submit").count() == 1  # the raw payloads are really in the frame
    for target in ("#evil-submit", "#js-link", "#top-link"):
        frame.locator(target).click(timeout=5000, no_wait_after=True)
        page.wait_for_timeout(500)
    page.wait_for_timeout(1000)
    assert_nothing_happened(page, campaign, review_url, requests, popups, server_log)
