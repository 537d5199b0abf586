"""Uploads: size caps, sniffed types, zip bombs and entity bombs refused through the pages, files
kept outside every web root, and handed out only as downloads by the authorised view."""

import io
import re
import time
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from approvals import workflow
from approvals.models import Attachment, Campaign
from tests.factories import csv_bytes, draft_campaign, members, submitted_campaign
from tests.samples import xlsx

from .conftest import PDF

MB = 1024 * 1024
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00" + b"\x00" * 200


def upload(name: str, data: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def error_messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"] if m.level_tag == "error"]


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def campaign(drafter, sender):
    return draft_campaign(drafter, sender, members(3))


@pytest.fixture
def drafter_client(drafter, client_for):
    return client_for(drafter)


def post_list(client, campaign, name, data):
    return client.post(reverse("list_upload", args=[campaign.pk]), {"file": upload(name, data)}, follow=True)


def post_attachment(client, campaign, name, data, content_type="application/octet-stream"):
    return client.post(reverse("attachment_add", args=[campaign.pk]),
                       {"file": upload(name, data, content_type)}, follow=True)


def assert_list_unchanged(campaign, before):
    campaign.refresh_from_db()
    assert (campaign.list_filename, campaign.list_sha256, campaign.recipients.count()) == before


def list_state(campaign):
    return campaign.list_filename, campaign.list_sha256, campaign.recipients.count()


# --- Size caps ---------------------------------------------------------------------------


def test_a_list_over_the_size_cap_is_refused_and_nothing_stored(campaign, drafter_client, settings):
    settings.MAILGUARD = {**settings.MAILGUARD, "MAX_LIST_BYTES": 2048}
    before = list_state(campaign)
    data = csv_bytes(members(100))
    assert len(data) > 2048
    response = post_list(drafter_client, campaign, "big.csv", data)
    assert response.status_code == 200
    assert any("limit" in m for m in error_messages(response))
    assert_list_unchanged(campaign, before)


def test_a_list_under_the_cap_is_accepted(campaign, drafter_client, settings):
    """The cap above is what refused the list, not something else."""
    settings.MAILGUARD = {**settings.MAILGUARD, "MAX_LIST_BYTES": 64 * 1024}
    response = post_list(drafter_client, campaign, "ok.csv", csv_bytes(members(100)))
    assert not error_messages(response)
    assert campaign.recipients.count() == 100


def test_an_attachment_over_the_size_cap_is_refused_and_nothing_stored(campaign, drafter_client, settings):
    settings.MAILGUARD = {**settings.MAILGUARD, "MAX_ATTACHMENT_BYTES": 1024}
    files_before = stored_files()
    response = post_attachment(drafter_client, campaign, "big.pdf", PDF + b"0" * 2048, "application/pdf")
    assert error_messages(response)
    assert not campaign.attachments.exists()
    assert stored_files() == files_before


def test_attachments_over_the_campaign_cap_are_refused(campaign, drafter_client, settings):
    settings.MAILGUARD = {**settings.MAILGUARD, "MAX_ATTACHMENT_BYTES": 10 * 1024,
                          "MAX_CAMPAIGN_ATTACHMENT_BYTES": 12 * 1024}
    first = post_attachment(drafter_client, campaign, "a.pdf", PDF + b"0" * 8000, "application/pdf")
    assert not error_messages(first)
    files_before = stored_files()
    second = post_attachment(drafter_client, campaign, "b.pdf", PDF + b"1" * 8000, "application/pdf")
    assert any("MB" in m for m in error_messages(second))
    assert list(campaign.attachments.values_list("filename", flat=True)) == ["a.pdf"]
    assert stored_files() == files_before


# --- Sniffed type must match the allowed extension --------------------------------------


@pytest.mark.parametrize(("name", "data"), [
    ("report.pdf", EXE),                       # an executable renamed
    ("setup.exe", EXE),                        # an executable as such
    ("invoice.pdf", b"PK\x03\x04" + b"\x00" * 100),  # something else renamed
    ("photo.png", PDF),
    ("page.html", b"<html><script>alert(1)</script></html>"),
    ("image.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
    ("macro.docm", b"PK\x03\x04" + b"\x00" * 100),
    ("noextension", PDF),
], ids=["exe-as-pdf", "exe", "zip-as-pdf", "pdf-as-png", "html", "svg", "docm", "no-extension"])
def test_a_file_whose_content_or_name_is_not_allowed_is_refused(name, data, campaign, drafter_client):
    files_before = stored_files()
    response = post_attachment(drafter_client, campaign, name, data)
    assert response.status_code == 200
    assert error_messages(response)
    assert not Attachment.objects.exists()
    assert stored_files() == files_before


def test_a_real_pdf_is_accepted(campaign, drafter_client):
    response = post_attachment(drafter_client, campaign, "guide.pdf", PDF, "application/pdf")
    assert not error_messages(response)
    assert campaign.attachments.count() == 1


# --- Zip bombs and entity bombs in recipient lists ---------------------------------------


def with_member(data: bytes, name: str, change) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            target.writestr(info.filename, change(content) if info.filename == name else content)
    return out.getvalue()


def zip_bomb_xlsx() -> bytes:
    """A real workbook whose sheet unpacks to 200 MB of whitespace (about 200 KB packed)."""
    padding = b" " * (200 * MB)
    return with_member(xlsx([["email"], ["a@example.jp"]]), "xl/worksheets/sheet1.xml",
                       lambda xml: xml.replace(b"<sheetData>", b"<sheetData>" + padding, 1))


LAUGHS = (b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
                     for n in range(1, 10)) + b"]>")


def billion_laughs_xlsx() -> bytes:
    def change(xml: bytes) -> bytes:
        end = xml.index(b"?>") + 2 if xml.startswith(b"<?xml") else 0
        return xml[:end] + LAUGHS + xml[end:].replace(b"<v>", b"<v>&lol9;", 1)
    return with_member(xlsx([["email", "name"], ["a@example.jp", "x"]]), "xl/worksheets/sheet1.xml", change)


@pytest.mark.parametrize("make", [zip_bomb_xlsx, billion_laughs_xlsx], ids=["zip-bomb", "billion-laughs"])
def test_hostile_workbook_lists_are_refused_quickly_through_the_page(make, campaign, drafter_client):
    data = make()
    assert len(data) < 2 * MB
    before = list_state(campaign)
    started = time.monotonic()
    response = post_list(drafter_client, campaign, "名簿.xlsx", data)
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert any("not opened" in m for m in error_messages(response)), error_messages(response)
    assert_list_unchanged(campaign, before)
    assert elapsed < 5, f"took {elapsed:.1f} s"


@pytest.mark.parametrize("make", [zip_bomb_xlsx, billion_laughs_xlsx], ids=["zip-bomb", "billion-laughs"])
def test_hostile_workbooks_are_refused_as_attachments_too(make, campaign, drafter_client):
    files_before = stored_files()
    started = time.monotonic()
    response = post_attachment(drafter_client, campaign, "data.xlsx", make())
    assert time.monotonic() - started < 5
    assert error_messages(response)
    assert not campaign.attachments.exists()
    assert stored_files() == files_before


# --- Stored outside every web root, served only by the authorised view -------------------


def _is_within(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def test_private_files_are_outside_the_static_roots():
    media = Path(settings.MEDIA_ROOT)
    static_roots = [Path(settings.STATIC_ROOT), *map(Path, settings.STATICFILES_DIRS)]
    for root in static_roots:
        assert not _is_within(media, root) and not _is_within(root, media), (media, root)
    assert not getattr(settings, "WHITENOISE_ROOT", None)
    assert not settings.MEDIA_URL or settings.MEDIA_URL == "/"  # no public URL prefix for uploads


def _all_patterns(resolver=None):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _all_patterns(pattern)
        elif isinstance(pattern, URLPattern):
            yield pattern


def test_no_url_pattern_serves_files_from_disk():
    from django.views import static

    views = [p.callback for p in _all_patterns()]
    assert static.serve not in views and static.directory_index not in views


def test_a_stored_attachment_has_a_random_name_inside_the_private_root(drafter, sender):
    campaign = draft_campaign(drafter, sender, members(1))
    attachment = workflow.add_attachment(campaign, drafter, "../../../static/evil.pdf", PDF, "application/pdf")
    path = Path(attachment.file.path)
    assert _is_within(path, Path(settings.MEDIA_ROOT))
    assert "evil" not in path.name and path.read_bytes() == PDF


def _literal_prefixes(resolver=None, outer: str = "") -> set[str]:
    """The fixed text each URL pattern starts with ("campaigns/", "admin/", "anymail/", ...)."""
    prefixes = set()
    for pattern in (resolver or get_resolver()).url_patterns:
        text = outer + re.split(r"[<(\[?*+\\]", str(pattern.pattern).lstrip("^").replace("$", ""))[0]
        prefixes.add(text)
        if isinstance(pattern, URLResolver):
            prefixes |= _literal_prefixes(pattern, text)
    return prefixes


def test_the_stored_file_is_not_reachable_by_any_url(drafter, reviewer, superuser, sender):
    """Under every URL prefix the site has (and the usual media ones), the stored name of an
    attachment never yields its bytes, whoever asks."""
    campaign = submitted_campaign(drafter, sender, members(1), attachments=[("a.pdf", PDF, "application/pdf")])
    stored = campaign.attachments.get().file.name  # attachments/<campaign>/<random>
    guesses = _literal_prefixes() | {"", "media/", "private/", "uploads/", "files/", "static/", "static/../private/"}
    clients = [Client()]
    for user in (reviewer, superuser):
        clients.append(Client())
        clients[-1].force_login(user)
    for prefix in sorted(guesses):
        for name in (stored, stored.removeprefix("attachments/"), Path(stored).name):
            url = f"/{prefix}{name}"
            for client in clients:
                response = client.get(url)
                body = b"".join(response.streaming_content) if response.streaming else response.content
                assert PDF not in body, f"{url} served the stored file"


@pytest.mark.parametrize(("name", "data", "content_type"), [
    ("a.pdf", PDF, "application/pdf"),
    ("note.txt", b"<html><script>alert(1)</script></html>", "text/html"),
    ("pixel.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png"),
], ids=["pdf", "html-in-txt", "png"])
def test_downloads_are_forced_attachments_never_sniffed_or_cached(name, data, content_type, drafter, reviewer,
                                                                  sender, client_for):
    campaign = draft_campaign(drafter, sender, members(1))
    try:
        attachment = workflow.add_attachment(campaign, drafter, name, data, content_type)
    except workflow.WorkflowError as refused:
        pytest.skip(f"not an attachment this policy accepts: {refused}")
    workflow.submit(campaign, drafter)
    response = client_for(reviewer).get(reverse("attachment_download", args=[campaign.pk, attachment.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert b"".join(response.streaming_content) == data
    assert Campaign.objects.get(pk=campaign.pk).state == Campaign.State.IN_REVIEW
