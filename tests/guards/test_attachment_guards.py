"""Attachment guards (incident 9: the recipient list attached instead of the newsletter).

Attachments are stored through the real workflow, so these tests need the database.
"""

import io
import zipfile

import openpyxl
import pytest
from django.utils import translation

from approvals.guards.attachments import attachments_are_safe
from approvals.guards.context import PreflightContext
from approvals.guards.findings import Severity
from tests.factories import csv_bytes, draft_campaign, members
from tests.samples import make_pdf

PDF = "application/pdf"


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


NEWSLETTER = make_pdf("City Newsletter - June", "Summer festival on 20 July at the central park.",
                      "Contact: koho@city.example.jp")


def check(drafter, sender, *attachments, rows=None):
    campaign = draft_campaign(drafter, sender, rows or members(20), attachments=attachments)
    return list(attachments_are_safe(PreflightContext.load(campaign)))


def summary(findings) -> list[tuple[str, Severity, tuple[str, ...]]]:
    return [(f.code, f.severity, f.files) for f in findings]


def test_a_clean_newsletter_pdf_gives_no_finding(drafter, sender):
    assert check(drafter, sender, ("newsletter.pdf", NEWSLETTER, PDF)) == []


def test_the_recipient_list_itself_attached_is_blocked(drafter, sender):
    rows = members(20)
    findings = check(drafter, sender, ("会報6月号.csv", csv_bytes(rows), "text/csv"), rows=rows)
    assert summary(findings) == [("attachment.is_the_list", Severity.BLOCK, ("会報6月号.csv",))]
    assert "recipient list itself" in findings[0].message


def test_an_xlsx_holding_rows_of_the_list_is_blocked_even_without_addresses(drafter, sender):
    # Incident 9: names and member ids, re-typed into a workbook (so not the same bytes).
    rows = members(20)
    workbook = openpyxl.Workbook()
    workbook.active.append(["No.", "お名前", "ID"])
    for number, row in enumerate(rows[:5], start=1):
        workbook.active.append([number, row["氏名"].replace(" ", "　"), row["会員番号"]])
    buffer = io.BytesIO()
    workbook.save(buffer)

    findings = check(drafter, sender, ("6月号.xlsx", buffer.getvalue(), "application/vnd.ms-excel"), rows=rows)

    assert summary(findings) == [("attachment.list_rows", Severity.BLOCK, ("6月号.xlsx",))]
    assert findings[0].rows == (2, 3, 4, 5, 6)
    assert "contains 5 rows of the recipient list" in findings[0].message


def test_a_file_with_recipients_addresses_is_blocked_naming_how_many(drafter, sender):
    rows = members(20)
    pdf = make_pdf("Thank you for joining!", rows[3]["メールアドレス"], rows[7]["メールアドレス"])
    findings = check(drafter, sender, ("thanks.pdf", pdf, PDF), rows=rows)
    assert summary(findings) == [("attachment.list_addresses", Severity.BLOCK, ("thanks.pdf",))]
    assert findings[0].rows == (5, 9)
    assert "contains 2 addresses of recipients on the list" in findings[0].message


def test_a_pdf_with_many_addresses_is_blocked(drafter, sender):
    pdf = make_pdf("Participants", *(f"person{i}@other.example.org" for i in range(8)))
    findings = check(drafter, sender, ("participants.pdf", pdf, PDF))
    assert summary(findings) == [("attachment.many_addresses", Severity.BLOCK, ("participants.pdf",))]
    assert "many addresses (8" in findings[0].message


def test_an_encrypted_zip_must_be_acknowledged_as_not_inspectable(drafter, sender):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("flyer.pdf", NEWSLETTER)
        archive.getinfo("flyer.pdf").flag_bits |= 0x1  # how a password-protected (PPAP) zip looks
    findings = check(drafter, sender, ("flyer.zip", buffer.getvalue(), "application/zip"))
    assert summary(findings) == [("attachment.not_inspectable", Severity.ACKNOWLEDGE, ("flyer.zip",))]
    assert "cannot be inspected" in findings[0].message
    assert "open it and check it contains no personal data" in findings[0].message


def test_an_executable_renamed_to_pdf_is_blocked(drafter, sender):
    # The upload refuses it already; the preflight reads the stored bytes again, so a file
    # stored before that rule, or replaced in storage since, is caught before sending too.
    campaign = draft_campaign(drafter, sender, members(5), attachments=[("newsletter.pdf", NEWSLETTER, PDF)])
    attachment = campaign.attachments.get()
    with open(attachment.file.path, "wb") as stored:
        stored.write(b"MZ" + b"\x90" * 200)

    findings = list(attachments_are_safe(PreflightContext.load(campaign)))

    assert summary(findings) == [("attachment.refused", Severity.BLOCK, ("newsletter.pdf",))]
    assert "Executable" in findings[0].message


def test_a_file_named_like_a_list_must_be_opened_and_acknowledged(drafter, sender):
    findings = check(drafter, sender, ("名簿.pdf", NEWSLETTER, PDF))
    assert summary(findings) == [("attachment.looks_like_a_list", Severity.ACKNOWLEDGE, ("名簿.pdf",))]
    assert "looks like a list" in findings[0].message


def test_attachments_over_the_campaign_limit_together_are_blocked(drafter, sender, settings):
    files = [("a.pdf", NEWSLETTER, PDF), ("b.pdf", make_pdf("Part two"), PDF)]
    campaign = draft_campaign(drafter, sender, members(5), attachments=files)
    assert list(attachments_are_safe(PreflightContext.load(campaign))) == []
    settings.MAILGUARD = {**settings.MAILGUARD, "MAX_CAMPAIGN_ATTACHMENT_BYTES": len(NEWSLETTER) + 10}

    findings = list(attachments_are_safe(PreflightContext.load(campaign)))

    assert summary(findings) == [("attachment.too_large_together", Severity.BLOCK, ("a.pdf", "b.pdf"))]


def test_common_values_shared_by_many_rows_do_not_make_a_file_look_like_the_list(drafter, sender):
    rows = [{**row, "区分": "一般", "都道府県": "東京都"} for row in members(20)]
    pdf = make_pdf("Tokyo members", "ippan")
    workbook = openpyxl.Workbook()
    for _ in range(5):
        workbook.active.append(["一般", "東京都", "お知らせ"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    findings = check(drafter, sender, ("a.pdf", pdf, PDF), ("schedule.xlsx", buffer.getvalue(), "x"), rows=rows)
    assert findings == []
