"""The recipients' pages (download and unsubscribe links) are the only pages without sign-in:
what they accept, what they never reveal, and that two-factor sign-in does not stand in their way."""

import pytest
from django.test import Client

from approvals import recipient_links
from approvals.models import Download, Suppression
from tests.factories import members, send_all
from tests.links_helpers import approved_with, download_paths, unsubscribe_path

pytestmark = pytest.mark.django_db


@pytest.fixture
def received(owner, reviewer, sender, esp):
    rows = members(2)
    campaign = approved_with(owner, reviewer, sender, rows, newsletter=True)
    send_all(campaign.pk)
    [message] = esp.messages_to(rows[0]["メールアドレス"])
    [download] = download_paths(message.text_body)
    return rows[0]["メールアドレス"], download, unsubscribe_path(message.text_body)


def test_the_download_form_needs_its_csrf_token(received):
    address, download, _unsubscribe = received
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(download, {"address": address}).status_code == 403
    assert not Download.objects.exists()
    page = strict.get(download)
    token = page.cookies["csrftoken"].value
    response = strict.post(download, {"address": address, "csrfmiddlewaretoken": token})
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")


def test_only_the_one_click_unsubscribe_is_csrf_exempt(received):
    _address, _download, unsubscribe = received
    response = Client(enforce_csrf_checks=True).post(unsubscribe, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert Suppression.objects.count() == 1


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_public_pages_accept_only_get_and_post(received, method):
    _address, download, unsubscribe = received
    for path in (download, unsubscribe):
        assert getattr(Client(), method)(path).status_code == 405


def test_public_pages_reveal_no_address_and_are_never_cached_or_indexed(received):
    address, download, unsubscribe = received
    for path in (download, unsubscribe, "/files/d1-1." + "x" * 22 + "/"):
        response = Client().get(path)
        assert address not in response.content.decode()
        assert "no-store" in response["Cache-Control"]
        assert "noindex" in response["X-Robots-Tag"]
        assert response["Referrer-Policy"] == "same-origin"  # the token never goes to another site


def test_a_signed_in_reviewer_without_two_factor_can_still_use_a_link(received, reviewer, two_factor, client_for):
    address, download, unsubscribe = received
    client = client_for(reviewer)
    assert client.get("/review/").status_code == 302  # everything else asks for the code first
    assert client.get(download).status_code == 200
    assert client.get(unsubscribe).status_code == 200


def test_a_token_is_bound_to_its_file_and_campaign(received, owner, reviewer, sender, esp):
    """Even a correctly signed token that names another campaign's file serves nothing."""
    _address, download, _unsubscribe = received
    token = recipient_links.read_token(download.split("/")[2])
    other = approved_with(owner, reviewer, sender, members(1, domain="example.org"), name="other")
    mismatched = recipient_links.make_token(recipient_links.DOWNLOAD, token.recipient_id, other.attachments.get().pk)
    assert Client().get(f"/files/{mismatched}/").status_code == 404


def test_the_deploy_check_wants_https_links(settings):
    from approvals.checks import public_links_use_https

    settings.MAILGUARD = {**settings.MAILGUARD, "PUBLIC_BASE_URL": "http://mail.example.jp"}
    assert [w.id for w in public_links_use_https(None)] == ["mailguard.W001"]
    settings.MAILGUARD = {**settings.MAILGUARD, "PUBLIC_BASE_URL": "https://mail.example.jp"}
    assert public_links_use_https(None) == []
