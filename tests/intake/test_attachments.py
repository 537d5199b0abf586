"""Attachment inspection (incident 9: the recipient list attached instead of the newsletter).

Every fixture file is built here, in memory. No database is needed.
"""

import hashlib
import io
import random
import zipfile

import docx
import openpyxl
import pytest
from django.utils import translation
from pypdf import PdfReader, PdfWriter

from approvals.intake.attachments import (
    AttachmentRefused,
    Inspection,
    inspect_attachment,
    suspicious_filename,
)
from tests.samples import make_pdf

MB = 1024 * 1024
LIMIT = 10 * MB


@pytest.fixture(autouse=True)
def english():
    # The project's default language is Japanese; reasons are asserted in English.
    with translation.override("en"):
        yield


def inspect(filename: str, data: bytes, max_bytes: int = LIMIT) -> Inspection:
    return inspect_attachment(filename, data, max_bytes=max_bytes)


# --- Builders -------------------------------------------------------------------


def encrypt_pdf(data: bytes, user_password: str, owner_password: str | None = None) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password, owner_password)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def make_docx() -> bytes:
    document = docx.Document()
    document.add_paragraph("Monthly newsletter")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "氏名"
    table.cell(0, 1).text = "メール"
    table.cell(1, 0).text = "山田花子"
    table.cell(1, 1).text = "hanako@example.jp"
    document.sections[0].footer.paragraphs[0].text = "footer-secret@example.jp"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_xlsx() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["氏名", "メール", "会員番号"])
    sheet.append(["山田太郎", "taro@example.jp", 1001])
    hidden = workbook.create_sheet("hidden")
    hidden.append(["jiro@example.jp"])
    hidden.sheet_state = "hidden"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def make_zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def rezip(data: bytes, replace: dict[str, bytes]) -> bytes:
    """Copy a ZIP-based file, replacing or adding the given members."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        members = {name: source.read(name) for name in source.namelist()}
    members.update(replace)
    return make_zip(members)


def make_pptx(slide_text: str) -> bytes:
    slide = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<p:sld xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
        f"<p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r><a:t>{slide_text}</a:t></a:r></a:p>"
        "</p:txBody></p:sp></p:spTree></p:cSld></p:sld>"
    )
    return make_zip({
        "[Content_Types].xml": b'<?xml version="1.0"?><Types/>',
        "ppt/presentation.xml": b'<?xml version="1.0"?><p:presentation '
                                b'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"/>',
        "ppt/slides/slide1.xml": slide.encode(),
    })


OLE_HEADER = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504


# --- Refusals ---------------------------------------------------------------------


def test_an_empty_file_is_refused():
    with pytest.raises(AttachmentRefused, match="empty"):
        inspect("newsletter.pdf", b"")


def test_a_file_over_the_limit_is_refused_with_the_limit_in_mb():
    with pytest.raises(AttachmentRefused, match="2 MB"):
        inspect("newsletter.txt", b"a" * (2 * MB + 1), max_bytes=2 * MB)


def test_attachment_refused_is_a_value_error():
    assert issubclass(AttachmentRefused, ValueError)


# --- PDF --------------------------------------------------------------------------


def test_pdf_text_is_extracted_so_the_address_is_found():
    data = make_pdf("taro@example.jp")
    result = inspect("newsletter.pdf", data)
    assert result.kind == "pdf"
    assert result.allowed
    assert "taro@example.jp" in result.text
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.size == len(data)


def test_encrypted_pdf_is_allowed_but_not_inspectable():
    result = inspect("newsletter.pdf", encrypt_pdf(make_pdf(), "secret"))
    assert (result.kind, result.allowed, result.text) == ("pdf", True, None)
    assert "encrypted, cannot be inspected" in result.reason.lower()


def test_pdf_protected_only_by_an_owner_password_is_still_read():
    result = inspect("newsletter.pdf", encrypt_pdf(make_pdf(), "", owner_password="owner"))
    assert result.allowed
    assert "taro@example.jp" in result.text


def test_corrupt_pdf_is_allowed_but_reported_as_unreadable():
    result = inspect("newsletter.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 4)
    assert (result.kind, result.allowed, result.text) == ("pdf", True, None)
    assert "could not be read" in result.reason


# --- Office -----------------------------------------------------------------------


def test_docx_paragraphs_tables_and_footer_are_extracted():
    result = inspect("newsletter.docx", make_docx())
    assert (result.kind, result.allowed, result.reason) == ("docx", True, "")
    assert "Monthly newsletter" in result.text
    assert "山田花子" in result.text
    assert "hanako@example.jp" in result.text
    assert "footer-secret@example.jp" in result.text


def test_xlsx_cells_are_joined_by_tabs_and_hidden_sheets_are_read():
    result = inspect("会報.xlsx", make_xlsx())
    assert (result.kind, result.allowed) == ("xlsx", True)
    assert "山田太郎\ttaro@example.jp\t1001" in result.text
    assert "jiro@example.jp" in result.text


def test_pptx_slide_text_is_extracted():
    result = inspect("slides.pptx", make_pptx("saburo@example.jp"))
    assert (result.kind, result.allowed) == ("pptx", True)
    assert "saburo@example.jp" in result.text


def test_xlsx_with_a_vba_project_is_blocked_as_macro_enabled():
    data = rezip(make_xlsx(), {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 fake vba"})
    result = inspect("report.xlsx", data)
    assert (result.kind, result.allowed, result.text) == ("xlsx", False, None)
    assert "Macro" in result.reason


def test_macro_enabled_extension_is_blocked_even_without_a_vba_project():
    result = inspect("report.xlsm", make_xlsx())
    assert not result.allowed
    assert "Macro" in result.reason


def test_xlsx_part_with_a_doctype_entity_is_blocked():
    laughs = (
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>\n<workbook>&lol2;</workbook>'
    )
    result = inspect("report.xlsx", rezip(make_xlsx(), {"xl/workbook.xml": laughs}))
    assert (result.kind, result.allowed) == ("xlsx", False)
    assert "DOCTYPE" in result.reason


def test_doctype_in_a_utf16_encoded_part_is_blocked_too():
    laughs = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "a">]><x/>'
    data = rezip(make_xlsx(), {"xl/workbook.xml": laughs.encode("utf-16")})
    result = inspect("report.xlsx", data)
    assert not result.allowed
    assert "DOCTYPE" in result.reason


def test_doctype_pushed_beyond_the_first_2kb_by_a_comment_is_blocked():
    padded = b'<?xml version="1.0"?><!--' + b" " * 4096 + b'--><!DOCTYPE x [<!ENTITY a "a">]><x/>'
    result = inspect("report.docx", rezip(make_docx(), {"word/document.xml": padded}))
    assert not result.allowed
    assert "DOCTYPE" in result.reason


def test_corrupt_xlsx_is_allowed_but_reported_as_unreadable():
    data = rezip(make_xlsx(), {"xl/workbook.xml": b"<workbook><not-closed>"})
    result = inspect("report.xlsx", data)
    assert (result.kind, result.allowed, result.text) == ("xlsx", True, None)
    assert "could not be read" in result.reason


def test_truncated_docx_is_allowed_but_reported_as_unreadable():
    result = inspect("newsletter.docx", make_docx()[:400])
    assert (result.kind, result.allowed, result.text) == ("docx", True, None)
    assert "could not be read" in result.reason


def test_legacy_doc_is_allowed_but_says_it_cannot_be_read_completely():
    result = inspect("newsletter.doc", OLE_HEADER + b"WordDocument" * 10)
    assert (result.kind, result.allowed, result.text) == ("doc", True, None)
    assert "cannot be read completely" in result.reason


def test_text_recovered_from_a_legacy_file_is_kept_for_the_scan():
    body = "山田太郎".encode("utf-16-le") + b"\x00\x00taro@example.jp\x00" + "hanako@example.jp".encode("utf-16-le")
    result = inspect("members.xls", OLE_HEADER + body)
    assert result.text is None
    for found in ("山田太郎", "taro@example.jp", "hanako@example.jp"):
        assert found in result.salvaged


def test_legacy_xls_with_a_vba_project_is_blocked():
    data = OLE_HEADER + "_VBA_PROJECT_CUR".encode("utf-16-le") + b"\x00" * 64
    result = inspect("budget.xls", data)
    assert not result.allowed
    assert "Macro" in result.reason


def test_password_protected_xlsx_is_allowed_but_not_inspectable():
    data = OLE_HEADER + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 64
    result = inspect("list.xlsx", data)
    assert (result.kind, result.allowed, result.text) == ("xlsx", True, None)
    assert "encrypted, cannot be inspected" in result.reason.lower()


# --- Text and images --------------------------------------------------------------


def test_shift_jis_csv_from_excel_is_decoded():
    data = "氏名,メール\r\n山田太郎,taro@example.jp\r\n".encode("cp932")
    result = inspect("宛先.csv", data)
    assert (result.kind, result.allowed) == ("csv", True)
    assert "山田太郎,taro@example.jp" in result.text


def test_utf8_text_with_a_bom_is_decoded_without_the_bom():
    result = inspect("notes.txt", "\ufeffお知らせ hanako@example.jp".encode())
    assert result.kind == "txt"
    assert result.text == "お知らせ hanako@example.jp"


def test_utf16_unicode_text_export_is_decoded():
    result = inspect("list.txt", "山田\ttaro@example.jp".encode("utf-16"))
    assert result.allowed
    assert "taro@example.jp" in result.text


def test_images_are_allowed_with_nothing_to_extract():
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 32
    gif = b"GIF89a" + b"\x00" * 32
    for name, data in [("a.png", png), ("b.jpg", jpeg), ("c.gif", gif), ("d.png", jpeg)]:
        result = inspect(name, data)
        assert (result.kind, result.allowed, result.text) == ("image", True, ""), name


# --- Executables, mismatches, disallowed types ------------------------------------


def test_windows_executable_renamed_to_pdf_is_blocked():
    result = inspect("newsletter.pdf", b"MZ" + b"\x90" * 200)
    assert (result.kind, result.allowed, result.text) == ("executable", False, None)
    assert "Executable" in result.reason


def test_elf_and_mach_o_binaries_are_blocked_whatever_their_name():
    for data in (b"\x7fELF\x02\x01\x01" + b"\x00" * 64, b"\xcf\xfa\xed\xfe" + b"\x00" * 64):
        assert inspect("readme.txt", data).kind == "executable"
        assert not inspect("readme.txt", data).allowed


def test_script_extensions_are_blocked_even_when_the_content_is_text():
    for name in ("run.bat", "install.ps1", "setup.exe. ", "tool.ＥＸＥ", "x.hta", "a.lnk"):
        result = inspect(name, b"echo hello\r\n")
        assert (result.kind, result.allowed) == ("executable", False), name


def test_zip_named_pdf_is_blocked_with_a_reason_naming_both():
    result = inspect("newsletter.pdf", make_zip({"a.txt": b"hello"}))
    assert (result.kind, result.allowed) == ("zip", False)
    assert ".pdf" in result.reason
    assert "ZIP" in result.reason


def test_pdf_named_docx_is_blocked():
    result = inspect("newsletter.docx", make_pdf())
    assert (result.kind, result.allowed) == ("pdf", False)
    assert ".docx" in result.reason
    assert "PDF" in result.reason


def test_text_named_png_is_blocked():
    result = inspect("photo.png", b"taro@example.jp\n")
    assert not result.allowed
    assert ".png" in result.reason


def test_extension_outside_the_allowlist_is_blocked():
    for name in ("page.html", "no_extension", "data.tar.gz"):
        result = inspect(name, b"<p>hello</p>\n")
        assert not result.allowed, name
        assert "cannot be attached" in result.reason


def test_unknown_binary_with_an_allowed_extension_is_blocked():
    result = inspect("data.csv", b"\x00\x01\x02\x03" * 50)
    assert (result.kind, result.allowed, result.text) == ("unknown", False, None)


# --- ZIP archives ---------------------------------------------------------------


def test_zip_text_concatenates_its_inspectable_members():
    data = make_zip({
        "docs/": b"",
        "letter.docx": make_docx(),
        "list.xlsx": make_xlsx(),
        "notes.csv": "山田,taro2@example.jp".encode("cp932"),
        "flyer.pdf": make_pdf("flyer@example.jp"),
        "__MACOSX/._flyer.pdf": b"\x00\x05\x16\x07 resource fork",
    })
    result = inspect("newsletter.zip", data)
    assert (result.kind, result.allowed) == ("zip", True)
    for address in ("hanako@example.jp", "taro@example.jp", "taro2@example.jp", "flyer@example.jp"):
        assert address in result.text, address


def test_zip_with_an_encrypted_member_is_allowed_but_not_inspectable():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("list.csv", b"taro@example.jp")
        # zipfile cannot encrypt, but the flag in the central directory is
        # what marks a member as encrypted (how PPAP zips look to a reader).
        archive.getinfo("list.csv").flag_bits |= 0x1
    result = inspect("newsletter.zip", buffer.getvalue())
    assert (result.kind, result.allowed, result.text) == ("zip", True, None)
    assert "encrypted archive cannot be inspected" in result.reason


def test_zip_containing_an_executable_is_blocked():
    data = make_zip({"readme.txt": b"hi", "invoice.pdf": b"MZ" + b"\x00" * 100})
    result = inspect("newsletter.zip", data)
    assert (result.kind, result.allowed) == ("zip", False)
    assert "invoice.pdf" in result.reason


def test_zip_inside_a_zip_is_read():
    inner = make_zip({"list.csv": b"taro@example.jp"})
    result = inspect("newsletter.zip", make_zip({"inner.zip": inner}))
    assert (result.allowed, result.reason) == (True, "")
    assert "taro@example.jp" in result.text


def test_archives_nested_deeper_than_the_limit_are_not_inspected():
    nested = make_zip({"list.csv": b"taro@example.jp"})
    for level in range(4):
        nested = make_zip({f"level{level}.zip": nested})
    result = inspect("newsletter.zip", nested)
    assert (result.allowed, result.text) == (True, None)
    assert "nested more than 3 deep" in result.reason


def test_a_nested_archive_counts_against_the_upload_expansion_budget():
    rng = random.Random(7)
    member = bytes(rng.choices(b"ab", weights=[98, 2], k=300_000))  # ~40-fold: under the ratio
    inner = make_zip({f"{i}.txt": member for i in range(3)})
    result = inspect("newsletter.zip", make_zip({"a.zip": inner, "b.zip": inner}), max_bytes=60_000)
    assert not result.allowed
    assert "zip bomb" in result.reason


def test_zip_member_names_written_in_cp932_are_shown_readably():
    japanese = "名簿リスト.pdf".encode("cp932")
    placeholder = b"abcdefghij.pdf"
    assert len(japanese) == len(placeholder)
    # Rename in place, as Japanese Windows writes names: CP932, no UTF-8 flag.
    raw = make_zip({placeholder.decode(): b"MZ" + b"\x00" * 100}).replace(placeholder, japanese)
    result = inspect("files.zip", raw)
    assert not result.allowed
    assert "名簿リスト.pdf" in result.reason


def test_zip_bomb_with_a_highly_compressible_member_is_blocked():
    data = make_zip({"zeros.txt": b"\x00" * (20 * MB)})
    assert len(data) < MB
    result = inspect("newsletter.zip", data, max_bytes=MB)
    assert (result.kind, result.allowed, result.text) == ("zip", False, None)
    assert "zip bomb" in result.reason


def test_member_expanding_more_than_100_fold_is_a_zip_bomb_even_under_the_total():
    data = make_zip({"blank.csv": b" " * MB})
    result = inspect("newsletter.zip", data, max_bytes=LIMIT)
    assert not result.allowed
    assert "zip bomb" in result.reason


def test_archive_expanding_beyond_20_times_the_limit_is_a_zip_bomb():
    rng = random.Random(1)
    # About 36-fold compression: under the per-member ratio, over the total.
    member = bytes(rng.choices(b"ab", weights=[98, 2], k=MB))
    data = make_zip({"a.txt": member})
    max_bytes = 40_000
    assert len(data) < max_bytes < MB // 20
    result = inspect("newsletter.zip", data, max_bytes=max_bytes)
    assert not result.allowed
    assert "zip bomb" in result.reason
    assert "expands to more than" in result.reason


def test_archive_with_more_than_10000_members_is_a_zip_bomb():
    data = make_zip({f"{i}.txt": b"" for i in range(10_001)}, zipfile.ZIP_STORED)
    result = inspect("newsletter.zip", data)
    assert not result.allowed
    assert "zip bomb" in result.reason


def test_zip_bomb_disguised_as_docx_is_blocked_before_python_docx_sees_it():
    data = rezip(make_docx(), {"word/media/pad.bin": b"\x00" * (5 * MB)})
    result = inspect("newsletter.docx", data)
    assert (result.kind, result.allowed) == ("docx", False)
    assert "zip bomb" in result.reason


def test_docx_renamed_zip_is_a_mismatch():
    result = inspect("archive.zip", make_docx())
    assert (result.kind, result.allowed) == ("docx", False)


# --- Suspicious file names --------------------------------------------------------


def test_names_that_look_like_a_recipient_list_are_suspicious():
    for name in (
        "会員名簿.xlsx", "宛先.csv", "送信リスト.xlsx", "参加者一覧.pdf", "住所録.csv",
        "メールアドレス.txt", "Mailing_LIST.csv", "members.xlsx", "Recipients.csv",
        "ｱﾄﾞﾚｽ.csv", "ＬＩＳＴ.xlsx", "email_addresses.csv",
    ):
        assert suspicious_filename(name), name


def test_ordinary_newsletter_names_are_not_suspicious():
    for name in ("2024年6月号.pdf", "newsletter.pdf", "お知らせ.docx", "flyer.png"):
        assert not suspicious_filename(name), name


def test_an_xlsx_that_would_fill_the_memory_is_allowed_but_reported_as_unreadable(monkeypatch):
    """Attachments are read in a child process too: one shared string in every row cannot take the server's memory."""
    from approvals.intake import confined
    from tests.intake.test_confined import one_string_in_every_row

    monkeypatch.setattr(confined, "WORKBOOK_MEMORY_BYTES", 200 * 1024 * 1024)
    result = inspect("report.xlsx", one_string_in_every_row(20_000), max_bytes=8 * 1024 * 1024)
    assert (result.kind, result.allowed, result.text) == ("xlsx", True, None)
    assert "could not be read" in result.reason
