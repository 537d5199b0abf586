"""Inspecting an uploaded attachment before it can be part of a campaign.

Incident 9: a city attached its recipient list instead of the newsletter and
sent it to 832 people. A reviewer must open every attachment, but MailGuard
also reads each file itself so that the text can be scanned for recipient
addresses and list rows (that scan lives elsewhere; this module only produces
the text). While doing so it refuses files that must never leave the office:
executables, macro-enabled Office files, files whose content is not what
their name claims, and archives built to exhaust the server.

Shape: ``inspect_attachment`` sniffs the real type from the bytes (never from
the name alone), applies the block rules, then hands the bytes to one small
text extractor per kind, looked up in ``_EXTRACTORS`` (the same "one small
interface, one class per variant" idea as django-anymail's backends). An
extractor either returns text or raises ``_NotInspectable`` / ``_Blocked``;
any other exception from a parser means the file is corrupt, which is
reported, never propagated.

Result contract:

* ``allowed=False``: the file must be blocked; ``reason`` says why.
* ``allowed=True, text=None``: the file is allowed but nobody (neither we nor
  the scanner) could look inside it; ``reason`` says why, and callers should
  make that visible to the reviewer.
* ``allowed=True, text=str``: inspected; ``text`` may be "" (images).
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace

from django.utils.translation import gettext as _

__all__ = ["AttachmentRefused", "Inspection", "inspect_attachment", "suspicious_filename"]


@dataclass
class Inspection:
    # "pdf", "docx", "xlsx", "pptx", "csv", "txt", "doc", "xls", "image", "zip",
    # "executable", "ole" (legacy Office content under a foreign name),
    # "unknown".
    kind: str
    # False = must be blocked (executable, macro-enabled office, type mismatch,
    # disallowed extension, zip bomb, XML with a DTD).
    allowed: bool
    # Translated; set when not allowed or not inspectable, "" otherwise.
    reason: str
    # Extracted text; None when the file could not be inspected (encrypted
    # PDF/Office file, encrypted or nested archive, legacy Office format,
    # corrupt file) or was blocked.
    text: str | None
    sha256: str
    size: int


class AttachmentRefused(ValueError):
    """The upload itself is unacceptable (empty or too large); nothing was inspected."""


# --- Policy -----------------------------------------------------------------

# The extension must be one of these. Everything else is refused, because an
# unfamiliar type is one nobody in the review can be expected to open safely.
ALLOWED_EXTENSIONS = frozenset(
    {"pdf", "docx", "xlsx", "pptx", "csv", "txt", "png", "jpg", "jpeg", "gif", "zip", "doc", "xls"}
)
EXECUTABLE_EXTENSIONS = frozenset(
    {"exe", "bat", "cmd", "com", "scr", "js", "vbs", "ps1", "msi", "jar", "sh", "lnk", "hta"}
)
MACRO_EXTENSIONS = frozenset({"docm", "xlsm", "pptm"})

# Which sniffed content each allowed extension may carry. Image formats are
# interchangeable on purpose: a JPEG saved as .png is common and harmless.
# Password-protected .docx/.xlsx/.pptx are OLE2 containers ("EncryptedPackage"),
# so those extensions accept that too.
_EXPECTED_CONTENT: dict[str, frozenset[str]] = {
    "pdf": frozenset({"pdf"}),
    "docx": frozenset({"docx", "encrypted-office"}),
    "xlsx": frozenset({"xlsx", "encrypted-office"}),
    "pptx": frozenset({"pptx", "encrypted-office"}),
    "csv": frozenset({"text"}),
    "txt": frozenset({"text"}),
    "png": frozenset({"image"}),
    "jpg": frozenset({"image"}),
    "jpeg": frozenset({"image"}),
    "gif": frozenset({"image"}),
    "zip": frozenset({"zip"}),
    "doc": frozenset({"ole", "encrypted-office"}),
    "xls": frozenset({"ole", "encrypted-office"}),
}

# Zip bomb limits, relative to the upload limit so they scale with it.
ZIP_MAX_EXPANSION = 20  # total uncompressed size <= 20 x max_bytes
ZIP_MAX_RATIO = 100  # no single member may expand more than 100-fold
ZIP_MAX_MEMBERS = 10_000
XML_HEAD_BYTES = 2048

# Words that suggest the file *is* a recipient list (incident 9).
_LIST_WORDS = (
    "名簿", "宛先", "リスト", "一覧", "会員", "住所録", "アドレス",
    "list", "members", "recipients", "address",
)

_OOXML_KINDS = frozenset({"docx", "xlsx", "pptx"})
_XML_PART_SUFFIXES = (".xml", ".rels", ".vml")
# Files that archivers add on their own; they carry no content of the sender's.
_ARCHIVE_JUNK = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$|Thumbs\.db$|desktop\.ini$)", re.IGNORECASE)
_ZIP_ENCRYPTED_FLAG = 0x1


# --- Public API -------------------------------------------------------------


def inspect_attachment(filename: str, data: bytes, *, max_bytes: int) -> Inspection:
    """Sniff, judge and extract the text of one uploaded attachment.

    Raises AttachmentRefused for an empty file or one larger than max_bytes;
    every other problem is reported in the returned Inspection.
    """
    if not data:
        raise AttachmentRefused(_("The file is empty."))
    if len(data) > max_bytes:
        limit = _megabytes(max_bytes)
        raise AttachmentRefused(
            _("The file is larger than the limit of %(limit)s MB.") % {"limit": limit}
        )
    kind, allowed, reason, text = _inspect(filename, data, _Context(max_bytes=max_bytes))
    return Inspection(
        kind=kind,
        allowed=allowed,
        reason=reason,
        text=text,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
    )


def suspicious_filename(filename: str) -> bool:
    """True when the name looks like a recipient list (名簿, members, ...).

    NFKC folds full-width ("ＬＩＳＴ") and half-width katakana ("ﾘｽﾄ") into the
    forms listed, so look-alike spellings do not slip through.
    """
    name = unicodedata.normalize("NFKC", filename).casefold()
    return any(word in name for word in _LIST_WORDS)


# --- Core -------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    max_bytes: int
    # 0 for the upload itself, 1 for a member of an uploaded zip. Archives are
    # only opened at depth 0: one level covers real use, and stops recursion.
    depth: int = 0


class _NotInspectable(Exception):
    """Allowed, but the text cannot be obtained (encrypted, legacy format...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Blocked(Exception):
    """Found while extracting (e.g. an executable inside a zip): block the file."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_Result = tuple[str, bool, str, str | None]  # kind, allowed, reason, text


def _inspect(filename: str, data: bytes, ctx: _Context) -> _Result:
    ext = _extension(filename)
    content = _sniff(data)

    def blocked(kind: str, reason: str) -> _Result:
        return kind, False, reason, None

    # Executables first: nothing else about such a file matters.
    if content == "executable" or ext in EXECUTABLE_EXTENSIONS:
        return blocked("executable", _("Executable files and scripts cannot be attached."))

    encrypted_archive = unreadable = False
    if content == "zip":
        # Everything here reads only the central directory or at most 2 KB of
        # a member, so it is safe to do before the bomb verdict is known.
        try:
            facts = _examine_zip(data, ctx.max_bytes)
        except Exception:  # noqa: BLE001 - any parser failure means "corrupt"
            # A damaged archive: still subject to the name rules below, then
            # reported as unreadable rather than blocked.
            unreadable = True
            facts = _ZipFacts(kind=ext if ext in _OOXML_KINDS else "zip")
        content = facts.kind
        if facts.bomb_reason:
            return blocked(content, facts.bomb_reason)
        if facts.has_vba:
            return blocked(content, _macro_reason())
        if facts.has_dtd:
            return blocked(
                content,
                _("The file contains an XML document type declaration (DOCTYPE/ENTITY), "
                  "which can be used to attack the server."),
            )
        encrypted_archive = facts.encrypted
    elif content == "ole" and _ole_has_vba(data):
        return blocked("ole", _macro_reason())

    if ext in MACRO_EXTENSIONS:
        return blocked(content if content in _OOXML_KINDS else ext, _macro_reason())
    if ext not in ALLOWED_EXTENSIONS:
        return blocked(
            _display_kind(content, ext),
            _("Files of type “%(ext)s” cannot be attached. Allowed types: %(allowed)s.")
            % {"ext": f".{ext}" if ext else _("(no extension)"),
               "allowed": ", ".join(sorted(ALLOWED_EXTENSIONS))},
        )
    if content not in _EXPECTED_CONTENT[ext]:
        # The classic trick (and the classic accident): "newsletter.pdf" that
        # is really something else. Name both so the uploader can see it.
        return blocked(
            _display_kind(content, ext),
            _("The file is named “.%(ext)s” but its content is %(content)s.")
            % {"ext": ext, "content": _describe(content)},
        )

    kind = _display_kind(content, ext)
    if unreadable:
        return kind, True, _could_not_read(), None
    if encrypted_archive or content == "encrypted-office":
        message = (_("This encrypted archive cannot be inspected.") if encrypted_archive
                   else _("Encrypted, cannot be inspected: the file opens only with a password."))
        return kind, True, message, None

    extractor = _EXTRACTORS.get(kind)
    if extractor is None:
        # Only legacy .doc/.xls get here: allowed, but the reviewer is on their own.
        return kind, True, _(
            "This file (%(content)s) cannot be inspected. Saving it as PDF, .docx or .xlsx "
            "lets it be checked."
        ) % {"content": _describe(content)}, None
    try:
        text = extractor(data, ctx)
    except _Blocked as exc:
        return blocked(kind, exc.reason)
    except _NotInspectable as exc:
        return kind, True, exc.reason, None
    except Exception:  # noqa: BLE001 - a corrupt file must not break the upload
        return kind, True, _could_not_read(), None
    return kind, True, "", text


def _extension(filename: str) -> str:
    # NFKC turns a full-width ".ｅｘｅ" into ".exe"; Windows ignores trailing
    # dots and spaces ("setup.exe. " runs as setup.exe), so we do too.
    name = unicodedata.normalize("NFKC", filename).strip().rstrip(". ")
    name = re.split(r"[\\/]", name)[-1]
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def _sniff(data: bytes) -> str:
    """The real type from the leading bytes; the name is never consulted here."""
    if data[:2] == b"MZ" or data[:4] == b"\x7fELF" or data[:4] in _MACH_O_MAGICS:
        return "executable"
    if data[:5] == b"%PDF-":
        return "pdf"
    if data[:4] == b"PK\x03\x04":
        return "zip"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        # Password-protected OOXML files are OLE2 with an "EncryptedPackage" stream.
        return "encrypted-office" if "EncryptedPackage".encode("utf-16-le") in data else "ole"
    if (data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff"
            or data[:6] in (b"GIF87a", b"GIF89a")):
        return "image"
    if _decode_text(data) is not None:
        return "text"
    # Readers accept "%PDF-" anywhere in the first KB (after binary junk), so
    # must we; checked after text so a note that mentions "%PDF-" stays text.
    if b"%PDF-" in data[:1024]:
        return "pdf"
    return "unknown"


_MACH_O_MAGICS = frozenset({
    b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf",  # big-endian 32/64-bit
    b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe",  # little-endian 32/64-bit
    b"\xca\xfe\xba\xbe",  # universal ("fat") binary; also Java .class
})


def _display_kind(content: str, ext: str) -> str:
    # Where the bytes cannot tell (plain text; .doc vs .xls; which OOXML an
    # encrypted package holds), the extension refines the kind.
    if content == "text":
        return "csv" if ext == "csv" else "txt"
    if content == "ole" and ext in ("doc", "xls"):
        return ext
    if content == "encrypted-office":
        return ext if ext in ("docx", "xlsx", "pptx", "doc", "xls") else "ole"
    return content


def _describe(content: str) -> str:
    return {
        "pdf": _("a PDF document"),
        "docx": _("a Word document"),
        "xlsx": _("an Excel workbook"),
        "pptx": _("a PowerPoint presentation"),
        "zip": _("a ZIP archive"),
        "ole": _("a legacy Office document"),
        "encrypted-office": _("an encrypted Office document"),
        "image": _("an image"),
        "text": _("plain text"),
    }.get(content, _("of an unknown type"))


def _megabytes(size: int) -> str:
    return f"{size / 1_048_576:,.1f}".removesuffix(".0")


def _macro_reason() -> str:
    return _("Macro-enabled Office files cannot be attached. Save the file without macros.")


def _could_not_read() -> str:
    return _("The file could not be read; it may be damaged.")


# C0 controls except whitespace, Ctrl-Z (old DOS end of file) and ESC.
_CONTROL_CHARS = re.compile("[\x01-\x08\x0e-\x19\x1c-\x1f]")


def _decode_text(data: bytes) -> str | None:
    """Decode plain text the way Japanese offices produce it, or None if binary."""
    # Excel's "Unicode text" export is UTF-16 with a BOM (and full of NULs).
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    if b"\x00" in data:
        return None
    # utf-8-sig also strips a BOM; cp932 is what Excel writes as "CSV".
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        # Binary data that happens to decode is full of control characters.
        controls = len(_CONTROL_CHARS.findall(text))
        return text if controls <= len(text) // 100 else None
    return None


# --- ZIP-based containers -----------------------------------------------------


@dataclass
class _ZipFacts:
    kind: str  # "docx", "xlsx", "pptx" or "zip"
    bomb_reason: str | None = None
    has_vba: bool = False
    has_dtd: bool = False
    encrypted: bool = False


def _open_zip(data: bytes) -> zipfile.ZipFile:
    # Japanese Windows writes member names in CP932 without the UTF-8 flag;
    # decoding them right keeps the names in our messages readable.
    for encoding in ("utf-8", "cp932", None):
        try:
            return zipfile.ZipFile(io.BytesIO(data), metadata_encoding=encoding)
        except UnicodeDecodeError:
            continue
    raise zipfile.BadZipFile("undecodable member names")  # unreachable: cp437 decodes anything


def _examine_zip(data: bytes, max_bytes: int) -> _ZipFacts:
    """Judge a ZIP-based file before any library is allowed to open it.

    The sizes checked are those declared in the central directory. That is
    sound because zipfile (which python-docx and openpyxl use as well) never
    returns more than the declared size: a member that lies fails its CRC.
    """
    with _open_zip(data) as archive:
        infos = archive.infolist()
        names = {info.filename for info in infos}
        lower_names = [name.lower() for name in names]
        if "[Content_Types].xml" in names and any(n.startswith("word/") for n in names):
            kind = "docx"
        elif "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
            kind = "xlsx"
        elif "[Content_Types].xml" in names and any(n.startswith("ppt/") for n in names):
            kind = "pptx"
        else:
            kind = "zip"
        facts = _ZipFacts(
            kind=kind,
            bomb_reason=_zip_bomb_reason(infos, max_bytes),
            has_vba=any(n.rsplit("/", 1)[-1] == "vbaproject.bin" for n in lower_names),
            has_dtd=False,
            encrypted=any(info.flag_bits & _ZIP_ENCRYPTED_FLAG for info in infos),
        )
        if facts.bomb_reason is None and kind in _OOXML_KINDS:
            # python-docx/openpyxl parse these parts; a DTD is how "billion
            # laughs" and external-entity attacks get in, and Office never
            # writes one.
            facts.has_dtd = any(
                _xml_head_is_dangerous(_read_head(archive, info))
                for info in infos
                if info.filename.lower().endswith(_XML_PART_SUFFIXES)
                and not info.flag_bits & _ZIP_ENCRYPTED_FLAG
            )
        return facts


def _zip_bomb_reason(infos: list[zipfile.ZipInfo], max_bytes: int) -> str | None:
    message = _("The archive looks like a zip bomb (%(detail)s).")
    if len(infos) > ZIP_MAX_MEMBERS:
        return message % {"detail": _("more than %(count)s files") % {"count": ZIP_MAX_MEMBERS}}
    if sum(info.file_size for info in infos) > ZIP_MAX_EXPANSION * max_bytes:
        return message % {"detail": _("it expands to more than %(limit)s MB") % {
            "limit": _megabytes(ZIP_MAX_EXPANSION * max_bytes)}}
    for info in infos:
        if info.file_size > ZIP_MAX_RATIO * max(info.compress_size, 1) or (
                info.file_size and not info.compress_size):
            return message % {"detail": _("“%(name)s” expands more than %(ratio)s-fold") % {
                "name": info.filename, "ratio": ZIP_MAX_RATIO}}
    return None


def _read_head(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    with archive.open(info) as member:
        return member.read(XML_HEAD_BYTES)


def _xml_head_is_dangerous(head: bytes) -> bool:
    # Dropping NULs makes UTF-16/32 encoded parts searchable as ASCII.
    text = head.replace(b"\x00", b"")
    lowered = text.lower()
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        return True
    if not text.strip():
        return False
    # A DTD can only come before the root element. If comments or processing
    # instructions push the root element beyond the window, a DTD could hide
    # behind them: treat that as dangerous too (real Office parts start the
    # root element within the first hundred bytes).
    prolog_free = re.sub(rb"<!--.*?-->|<\?.*?\?>", b"", text, flags=re.DOTALL)
    return re.search(rb"<[A-Za-z_]", prolog_free) is None


def _ole_has_vba(data: bytes) -> bool:
    # OLE2 directory names are UTF-16LE; a VBA project always has a
    # "_VBA_PROJECT" stream inside a "VBA" storage. We look for those names,
    # not for the bare ASCII bytes "VBA": three bytes occur by chance in about
    # one of three multi-megabyte files (embedded pictures), and "VBA" in
    # Japanese body text is stored as UTF-16 too.
    return (
        b"_VBA_PROJECT" in data
        or "_VBA_PROJECT".encode("utf-16-le") in data
        or "VBA\x00".encode("utf-16-le") in data  # the storage name, NUL-terminated
    )


# --- Text extractors ----------------------------------------------------------

Extractor = Callable[[bytes, _Context], str]
_EXTRACTORS: dict[str, Extractor] = {}


def _extractor(*kinds: str) -> Callable[[Extractor], Extractor]:
    def register(func: Extractor) -> Extractor:
        for kind in kinds:
            _EXTRACTORS[kind] = func
        return func

    return register


@_extractor("pdf")
def _pdf_text(data: bytes, ctx: _Context) -> str:
    from pypdf import PasswordType, PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        # Many PDFs are "encrypted" only against editing and open with an
        # empty password; those we can read. AES needs the optional
        # cryptography package, so a failure to even try counts as encrypted.
        try:
            opened = reader.decrypt("") != PasswordType.NOT_DECRYPTED
        except Exception:  # noqa: BLE001
            opened = False
        if not opened:
            raise _NotInspectable(
                _("Encrypted, cannot be inspected: the PDF opens only with a password.")
            )
    return "\n".join(page.extract_text() or "" for page in reader.pages)


@_extractor("docx")
def _docx_text(data: bytes, ctx: _Context) -> str:
    import docx

    document = docx.Document(io.BytesIO(data))
    lines: list[str] = []

    def walk(container) -> None:  # Document, cell, header and footer share this shape
        lines.extend(p.text for p in container.paragraphs)
        for table in container.tables:
            for row in table.rows:
                seen: set[int] = set()
                for cell in row.cells:
                    # A merged cell is returned once per grid column it spans.
                    if id(cell._tc) not in seen:
                        seen.add(id(cell._tc))
                        walk(cell)

    walk(document)
    # A list pasted into a header or footer would otherwise go unseen.
    for section in document.sections:
        for part in (section.header, section.footer):
            if not part.is_linked_to_previous:
                walk(part)
    return "\n".join(lines)


@_extractor("xlsx")
def _xlsx_text(data: bytes, ctx: _Context) -> str:
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        rows: list[str] = []
        # All worksheets, hidden ones included: a hidden sheet is exactly
        # where a recipient list would go unnoticed.
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows(values_only=True):
                if any(value is not None for value in row):
                    rows.append("\t".join("" if value is None else str(value) for value in row))
        return "\n".join(rows)
    finally:
        workbook.close()


_DRAWINGML_TEXT = "{http://schemas.openxmlformats.org/drawingml/2006/main}t"
_SLIDE_PART = re.compile(r"ppt/(slides|notesSlides)/(slide|notesSlide)(\d+)\.xml")


@_extractor("pptx")
def _pptx_text(data: bytes, ctx: _Context) -> str:
    # No PowerPoint library is installed; slide text is simply every <a:t>.
    # ElementTree is acceptable here because _examine_zip has already refused
    # any part with a DTD.
    with _open_zip(data) as archive:
        parts = sorted(
            (m for m in map(_SLIDE_PART.fullmatch, archive.namelist()) if m),
            key=lambda m: (m.group(1) != "slides", int(m.group(3))),
        )
        lines = []
        for match in parts:
            root = ET.fromstring(archive.read(match.group(0)))
            lines.extend(node.text or "" for node in root.iter(_DRAWINGML_TEXT))
        return "\n".join(lines)


@_extractor("csv", "txt")
def _plain_text(data: bytes, ctx: _Context) -> str:
    text = _decode_text(data)
    if text is None:  # pragma: no cover - sniffing already decoded it
        raise _NotInspectable(_could_not_read())
    return text


@_extractor("image")
def _image_text(data: bytes, ctx: _Context) -> str:
    return ""  # no OCR: the reviewer has to look at images


@_extractor("zip")
def _zip_text(data: bytes, ctx: _Context) -> str:
    if ctx.depth > 0:
        raise _NotInspectable(_("An archive inside an archive cannot be inspected."))
    inner = replace(ctx, depth=ctx.depth + 1)
    texts: list[str] = []
    with _open_zip(data) as archive:
        for info in archive.infolist():
            if info.is_dir() or _ARCHIVE_JUNK.search(info.filename):
                continue
            member = archive.read(info)
            if not member:
                continue
            kind, allowed, reason, text = _inspect(info.filename, member, inner)
            if not allowed:
                raise _Blocked(_("“%(name)s” in the archive: %(reason)s") % {
                    "name": info.filename, "reason": reason})
            if text is None:
                # Partial text would look like a clean scan; say so instead.
                raise _NotInspectable(_("“%(name)s” in the archive cannot be inspected: %(reason)s")
                                      % {"name": info.filename, "reason": reason})
            texts.append(text)
    return "\n".join(texts)
