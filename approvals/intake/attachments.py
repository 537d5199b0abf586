"""Inspecting an uploaded attachment before it can be part of a campaign.

Incident 9: a city attached its recipient list instead of the newsletter and
sent it to 832 people. A reviewer must open every attachment, but MailGuard
also reads each file itself, completely, so that the text can be scanned for
recipient addresses and list rows (that scan lives in ``approvals.guards``;
this module only produces the text). A list hides easily: in a PDF's embedded
files, annotations or form fields; in a Word text box, comment, footnote,
header or embedded object; in an Excel comment or hidden sheet; in PowerPoint
notes; in a ZIP inside a ZIP. All of those are read. Files that must never
leave the office are refused: executables, macro-enabled Office files, PDFs
that run JavaScript or launch programs, HTML, files whose content is not what
their name claims, and archives built to exhaust the server.

Shape: ``inspect_attachment`` sniffs the real type from the bytes (never from
the browser's Content-Type, and from the name only where bytes cannot tell),
applies the block rules, then hands the bytes to one small text extractor per
kind, looked up in ``_EXTRACTORS``. Containers hand their inner files back to
``_inspect`` one level deeper, within one budget of depth, members and
expanded bytes for the whole upload. An extractor returns text or raises
``_NotInspectable`` / ``_Blocked``; any other exception from a parser means the
file is corrupt, which is reported, never propagated.

Result contract:

* ``allowed=False``: the file must be blocked; ``reason`` says why.
* ``allowed=True, text=None``: allowed, but not everything inside could be read;
  ``reason`` says why, ``salvaged`` holds the text that could still be recovered
  (scanned all the same), and the reviewer must acknowledge it.
* ``allowed=True, text=str``: read completely; ``text`` may be "" (images).

``mime`` is the sniffed type: the one stored and sent, whatever the browser said.
``reason`` is a ``Reason``: a string in the language of the moment that also
keeps its code and parameters, so a finding can say it again in the reader's language.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from django.utils.translation import gettext as _

from . import confined, workbooks
from .confined import Exceeded, run_confined

__all__ = ["AttachmentRefused", "Inspection", "Reason", "inspect_attachment", "render_reason", "suspicious_filename"]


# --- Reasons, in the reader's language ------------------------------------------------


def _reason_texts() -> dict[str, Callable[[dict], str]]:
    return {
        "executable": lambda p: _("Executable files and scripts cannot be attached."),
        "macro": lambda p: _("Macro-enabled Office files cannot be attached. Save the file without macros."),
        "dtd": lambda p: _("The file contains an XML document type declaration (DOCTYPE/ENTITY), "
                           "which can be used to attack the server."),
        "html": lambda p: _("HTML files cannot be attached: they can run scripts and hide links. Send the "
                            "content as PDF, or put it in the message itself."),
        "extension": lambda p: _("Files of type “%(ext)s” cannot be attached. Allowed types: %(allowed)s.")
        % {"ext": p["ext"] or _("(no extension)"), "allowed": p["allowed"]},
        "mismatch": lambda p: _("The file is named “.%(ext)s” but its content is %(content)s.")
        % {"ext": p["ext"], "content": _describe(p["content"])},
        "unreadable": lambda p: _("The file could not be read; it may be damaged."),
        "encrypted_archive": lambda p: _("This encrypted archive cannot be inspected."),
        "encrypted": lambda p: _("Encrypted, cannot be inspected: the file opens only with a password."),
        "encrypted_pdf": lambda p: _("Encrypted, cannot be inspected: the PDF opens only with a password."),
        "legacy": lambda p: _("This file (%(content)s) is in a legacy format that cannot be read completely; "
                              "only the text that could be recovered from it was checked. Saving it as PDF, "
                              ".docx or .xlsx lets it be checked completely.") % {"content": _describe(p["content"])},
        "too_deep": lambda p: _("Archives nested more than %(depth)d deep cannot be inspected.") % p,
        "pdf_active": lambda p: _("The PDF contains %(what)s, which runs when the file is opened. Save it "
                                  "again without scripts and actions (for example by printing it to PDF).")
        % {"what": {"javascript": _("JavaScript"), "launch": _("an action that launches a program")}[p["what"]]},
        "zip_bomb": lambda p: _("The archive looks like a zip bomb (%(detail)s).") % {"detail": _bomb_detail(p)},
        "member_blocked": lambda p: _("“%(name)s” in the archive: %(reason)s")
        % {"name": p["name"], "reason": render_reason(p["reason"])},
        "member_not_inspectable": lambda p: _("“%(name)s” in the archive cannot be inspected: %(reason)s")
        % {"name": p["name"], "reason": render_reason(p["reason"])},
        "embedded_blocked": lambda p: _("The embedded file “%(name)s”: %(reason)s")
        % {"name": p["name"], "reason": render_reason(p["reason"])},
        "embedded_not_inspectable": lambda p: _("The embedded file “%(name)s” cannot be inspected: %(reason)s")
        % {"name": p["name"], "reason": render_reason(p["reason"])},
    }


def _bomb_detail(p: dict) -> str:
    if p["detail"] == "members":
        return _("more than %(count)s files") % {"count": p["count"]}
    if p["detail"] == "total":
        return _("it expands to more than %(limit)s MB") % {"limit": p["limit"]}
    return _("“%(name)s” expands more than %(ratio)s-fold") % {"name": p["name"], "ratio": p["ratio"]}


class Reason(str):
    """A translated reason that keeps its code and parameters (``as_data``) to be rendered again later."""

    code: str
    params: dict

    def __new__(cls, code: str, **params) -> Reason:
        obj = super().__new__(cls, _reason_texts()[code](params))
        obj.code, obj.params = code, params
        return obj

    def as_data(self) -> dict:
        return {"code": self.code,
                "params": {k: v.as_data() if isinstance(v, Reason) else v for k, v in self.params.items()}}


def render_reason(data) -> str:
    """The reason stored by ``Reason.as_data`` (or a plain string), in the current language."""
    if isinstance(data, dict) and data.get("code") in _reason_texts():
        return _reason_texts()[data["code"]](data.get("params") or {})
    return str(data or "")


@dataclass
class Inspection:
    # "pdf", "docx", "xlsx", "pptx", "csv", "txt", "doc", "xls", "image", "zip",
    # "executable", "ole" (legacy Office content under a foreign name), "unknown".
    kind: str
    allowed: bool  # False = must be blocked
    reason: str  # a Reason when not allowed or not completely inspected, "" otherwise
    text: str | None  # everything the file says; None when it could not all be read
    sha256: str
    size: int
    mime: str = "application/octet-stream"  # the sniffed content type: what is stored and sent
    salvaged: str = ""  # text recovered from a file that could not be read completely


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
HTML_EXTENSIONS = frozenset({"html", "htm", "xhtml", "shtml", "mht", "mhtml", "svg", "xml"})

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

_MIME = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "csv": "text/csv",
    "txt": "text/plain",
    "zip": "application/zip",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
}

# Zip bomb limits, relative to the upload limit so they scale with it. The total and
# the member count hold for the whole upload, every nesting level together.
ZIP_MAX_EXPANSION = 20  # total uncompressed size <= 20 x max_bytes
ZIP_MAX_RATIO = 100  # no single member may expand more than 100-fold
ZIP_MAX_MEMBERS = 10_000
MAX_DEPTH = 3  # a ZIP in a ZIP in a ZIP is read; one more level is not
PDF_MAX_OBJECTS = 200_000  # objects walked to look for scripts and actions
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
        raise AttachmentRefused(
            _("The file is larger than the limit of %(limit)s MB.") % {"limit": _megabytes(max_bytes)})
    ctx = _Context(max_bytes=max_bytes, budget=_Budget(max_bytes * ZIP_MAX_EXPANSION))
    result = _inspect(filename, data, ctx)
    return Inspection(
        kind=result.kind, allowed=result.allowed, reason=result.reason, text=result.text,
        sha256=hashlib.sha256(data).hexdigest(), size=len(data),
        mime=_mime(result.kind, data), salvaged=result.salvaged,
    )


def suspicious_filename(filename: str) -> bool:
    """True when the name looks like a recipient list (名簿, members, ...).

    NFKC folds full-width ("ＬＩＳＴ") and half-width katakana ("ﾘｽﾄ") into the
    forms listed, so look-alike spellings do not slip through.
    """
    name = unicodedata.normalize("NFKC", filename).casefold()
    return any(word in name for word in _LIST_WORDS)


# --- Core -------------------------------------------------------------------


@dataclass
class _Budget:
    """What one upload may unpack in all, whatever is nested in what."""

    max_expanded: int
    expanded: int = 0
    members: int = 0

    def take(self, size: int) -> None:
        self.members += 1
        self.expanded += size
        if self.members > ZIP_MAX_MEMBERS:
            raise _Blocked(Reason("zip_bomb", detail="members", count=ZIP_MAX_MEMBERS))
        if self.expanded > self.max_expanded:
            raise _Blocked(Reason("zip_bomb", detail="total", limit=_megabytes(self.max_expanded)))


@dataclass(frozen=True)
class _Context:
    max_bytes: int
    budget: _Budget = field(default_factory=lambda: _Budget(0))
    # 0 for the upload itself, 1 for a file inside it, and so on.
    depth: int = 0

    def deeper(self) -> _Context:
        if self.depth + 1 > MAX_DEPTH:
            raise _NotInspectable(Reason("too_deep", depth=MAX_DEPTH))
        return replace(self, depth=self.depth + 1)


class _NotInspectable(Exception):
    """Allowed, but the text cannot be obtained (encrypted, legacy format...)."""

    def __init__(self, reason: str, salvaged: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.salvaged = salvaged


class _Blocked(Exception):
    """Found while extracting (an executable inside a zip, a PDF script): block the file."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Result:
    kind: str
    allowed: bool
    reason: str = ""
    text: str | None = None
    salvaged: str = ""


def _inspect(filename: str, data: bytes, ctx: _Context) -> _Result:
    ext = _extension(filename)
    content = _sniff(data)

    # Executables first: nothing else about such a file matters.
    if content == "executable" or ext in EXECUTABLE_EXTENSIONS:
        return _Result("executable", False, Reason("executable"))

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
            return _Result(content, False, facts.bomb_reason)
        if facts.has_vba:
            return _Result(content, False, Reason("macro"))
        if facts.has_dtd:
            return _Result(content, False, Reason("dtd"))
        encrypted_archive = facts.encrypted
    elif content == "ole" and _ole_has_vba(data):
        return _Result("ole", False, Reason("macro"))

    if ext in MACRO_EXTENSIONS:
        return _Result(content if content in _OOXML_KINDS else ext, False, Reason("macro"))
    if ext in HTML_EXTENSIONS:
        return _Result("html", False, Reason("html"))
    if ext not in ALLOWED_EXTENSIONS:
        return _Result(_display_kind(content, ext), False, Reason(
            "extension", ext=f".{ext}" if ext else "", allowed=", ".join(sorted(ALLOWED_EXTENSIONS))))
    if content not in _EXPECTED_CONTENT[ext]:
        # The classic trick (and the classic accident): "newsletter.pdf" that
        # is really something else. Name both so the uploader can see it.
        return _Result(_display_kind(content, ext), False, Reason("mismatch", ext=ext, content=content))

    kind = _display_kind(content, ext)
    if unreadable:
        return _Result(kind, True, Reason("unreadable"))
    if encrypted_archive:
        return _Result(kind, True, Reason("encrypted_archive"))
    if content == "encrypted-office":
        return _Result(kind, True, Reason("encrypted"))
    return _extract(kind, data, ctx)


def _extract(kind: str, data: bytes, ctx: _Context) -> _Result:
    extractor = _EXTRACTORS.get(kind)
    if extractor is None:
        # Legacy .doc/.xls: allowed, what can be recovered is scanned, and the reviewer is told.
        return _Result(kind, True, Reason("legacy", content="ole"), salvaged=salvage_text(data))
    try:
        text = extractor(data, ctx)
    except _Blocked as exc:
        return _Result(kind, False, exc.reason)
    except _NotInspectable as exc:
        return _Result(kind, True, exc.reason, salvaged=exc.salvaged)
    except Exception:  # noqa: BLE001 - a corrupt file must not break the upload
        return _Result(kind, True, Reason("unreadable"))
    return _Result(kind, True, "", text)


def _inside(name: str, data: bytes, ctx: _Context, *, member: bool) -> str:
    """The text of a file inside another: a ZIP member (judged by its name too) or an embedded part.

    Embedded parts (a Word document's OLE objects, a PDF's attached files) have
    names the user never chose, so only their bytes decide; a ZIP member is a
    file the user put there and follows every rule of an upload.
    """
    ctx.budget.take(len(data))
    inner = ctx.deeper()
    label = "member" if member else "embedded"
    if member:
        result = _inspect(name, data, inner)
    else:
        result = _inspect_embedded(data, inner)
    if not result.allowed:
        raise _Blocked(Reason(f"{label}_blocked", name=name, reason=result.reason))
    if result.text is None:
        # Partial text would look like a clean scan; say so instead.
        raise _NotInspectable(Reason(f"{label}_not_inspectable", name=name, reason=result.reason),
                              salvaged=result.salvaged)
    return result.text


def _inspect_embedded(data: bytes, ctx: _Context) -> _Result:
    content = _sniff(data)
    if content == "executable":
        return _Result("executable", False, Reason("executable"))
    if content == "zip":
        facts = _examine_zip(data, ctx.max_bytes)
        if facts.bomb_reason or facts.has_vba or facts.has_dtd:
            return _Result(facts.kind, False, facts.bomb_reason or Reason("macro" if facts.has_vba else "dtd"))
        if facts.encrypted:
            return _Result(facts.kind, True, Reason("encrypted_archive"))
        content = facts.kind
    if content == "ole":
        if _ole_has_vba(data):
            return _Result("ole", False, Reason("macro"))
        # An OLE object (an "Insert Object" package, a legacy workbook): its strings are its text.
        return _Result("ole", True, "", salvage_text(data))
    if content in ("unknown", "encrypted-office"):
        return _Result(content, True, "", salvage_text(data))
    return _extract(_display_kind(content, "txt" if content == "text" else ""), data, ctx)


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


def _mime(kind: str, data: bytes) -> str:
    if kind == "image":
        if data[:8] == b"\x89PNG\r\n\x1a\n":
            return "image/png"
        return "image/jpeg" if data[:3] == b"\xff\xd8\xff" else "image/gif"
    return _MIME.get(kind, "application/octet-stream")


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


_ASCII_RUN = re.compile(rb"[\x20-\x7e\t]{4,}")
_WIDE_TEXT = re.compile("[\u0020-\u007e\u3000-\u30ff\u4e00-\u9fff\uff01-\uff9f]{3,}")


def salvage_text(data: bytes) -> str:
    """Text runs recovered from a binary file nobody can parse here (``strings``, in ASCII and UTF-16).

    Legacy Word and Excel store their text as runs of single-byte or UTF-16LE
    characters; an OLE package stores the embedded file's bytes as they are.
    """
    runs = [run.decode("ascii") for run in _ASCII_RUN.findall(data)]
    for offset in (0, 1):
        wide = data[offset:len(data) - ((len(data) - offset) % 2)].decode("utf-16-le", errors="replace")
        runs.extend(_WIDE_TEXT.findall(wide))
    return "\n".join(runs)


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
    sound because zipfile never returns more than the declared size (a member
    that lies fails its CRC), and calamine's zip reader refuses a member "larger
    than its declared uncompressed size" (a test keeps this true).
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
            encrypted=any(info.flag_bits & _ZIP_ENCRYPTED_FLAG for info in infos),
        )
        if facts.bomb_reason is None and kind in _OOXML_KINDS:
            # The parts are parsed below; a DTD is how "billion laughs" and external-entity
            # attacks get in, and Office never writes one.
            facts.has_dtd = any(
                _xml_head_is_dangerous(_read_head(archive, info))
                for info in infos
                if info.filename.lower().endswith(_XML_PART_SUFFIXES)
                and not info.flag_bits & _ZIP_ENCRYPTED_FLAG
            )
        return facts


def _zip_bomb_reason(infos: list[zipfile.ZipInfo], max_bytes: int) -> str | None:
    if len(infos) > ZIP_MAX_MEMBERS:
        return Reason("zip_bomb", detail="members", count=ZIP_MAX_MEMBERS)
    if sum(info.file_size for info in infos) > ZIP_MAX_EXPANSION * max_bytes:
        return Reason("zip_bomb", detail="total", limit=_megabytes(ZIP_MAX_EXPANSION * max_bytes))
    for info in infos:
        if info.file_size > ZIP_MAX_RATIO * max(info.compress_size, 1) or (
                info.file_size and not info.compress_size):
            return Reason("zip_bomb", detail="ratio", name=info.filename, ratio=ZIP_MAX_RATIO)
    return None


def _read_head(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    with archive.open(info) as member:
        return member.read(XML_HEAD_BYTES)


_PROLOG = re.compile(rb"<!--.*?-->|<\?.*?\?>", re.DOTALL)


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
    prolog_free = _PROLOG.sub(b"", text)
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


# PDF ---------------------------------------------------------------------------

_PDF_SCRIPT_ACTIONS = {"/JavaScript": "javascript", "/Launch": "launch"}


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
            raise _NotInspectable(Reason("encrypted_pdf"))
    _refuse_active_content(reader.trailer)
    texts = [page.extract_text() or "" for page in reader.pages]
    texts.extend(_pdf_annotations(reader))
    texts.extend(_pdf_form_fields(reader))
    for name, contents in reader.attachments.items():
        for content in contents:
            texts.append(_inside(name, content, ctx, member=False))
    return "\n".join(texts)


def _refuse_active_content(trailer) -> None:
    """Walk every object reachable from the trailer once; refuse JavaScript and launch actions.

    Scripts hide in many places (the catalogue's OpenAction and AA, the name
    tree, annotations' and form fields' actions, outlines); walking the whole
    object graph finds them wherever they are, and pypdf decodes ``/J#61vaScript``.
    """
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    seen: set[tuple[int, int]] = set()
    stack = [trailer]
    walked = 0
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            ref = (obj.idnum, obj.generation)
            if ref in seen:
                continue
            seen.add(ref)
            obj = obj.get_object()
        walked += 1
        if walked > PDF_MAX_OBJECTS:
            raise _NotInspectable(Reason("unreadable"))
        if isinstance(obj, DictionaryObject):
            if "/JS" in obj or "/JavaScript" in obj:
                raise _Blocked(Reason("pdf_active", what="javascript"))
            action = obj.get("/S")
            if action in _PDF_SCRIPT_ACTIONS:
                raise _Blocked(Reason("pdf_active", what=_PDF_SCRIPT_ACTIONS[action]))
            stack.extend(value for key, value in obj.items() if key != "/Parent")
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)


def _pdf_annotations(reader) -> list[str]:
    texts = []
    for page in reader.pages:
        annotations = page.get("/Annots")
        if annotations is None:
            continue
        for annotation in annotations.get_object():
            annotation = annotation.get_object()
            for key in ("/Contents", "/T", "/Subj", "/RC"):
                value = annotation.get(key)
                if value is not None:
                    texts.append(str(value.get_object()))
    return texts


def _pdf_form_fields(reader) -> list[str]:
    texts = []
    for name, form_field in (reader.get_fields() or {}).items():
        texts.append(str(name))
        for key in ("/V", "/TU", "/Opt"):
            value = form_field.get(key)
            if value is not None:
                value = value.get_object() if hasattr(value, "get_object") else value
                texts.append(" ".join(map(str, value)) if isinstance(value, list) else str(value))
    return texts


# Office Open XML (Word, Excel, PowerPoint) ----------------------------------------

# Text-bearing elements (local names) in WordprocessingML, DrawingML, SpreadsheetML comments
# and PresentationML comments; deleted text and field codes are in the file too, so they count.
_TEXT_ELEMENTS = frozenset({"t", "delText", "instrText", "text"})
_LINE_ELEMENTS = frozenset({"p", "br", "tr", "si", "comment", "cm"})
_CELL_ELEMENTS = frozenset({"tab", "tc"})
_MEDIA = re.compile(r"^(word|xl|ppt)/media/", re.IGNORECASE)


def _xml_text(xml: bytes) -> str:
    """Every text node of one XML part, with paragraph and cell breaks kept as newlines and tabs."""
    parts: list[str] = []
    for _event, element in ET.iterparse(io.BytesIO(xml), events=("end",)):
        local = element.tag.rpartition("}")[2]
        if local in _TEXT_ELEMENTS and element.text:
            parts.append(element.text)
        elif local in _CELL_ELEMENTS:
            parts.append("\t")
        elif local in _LINE_ELEMENTS:
            parts.append("\n")
        element.clear()
    return "".join(parts)


def _ooxml_parts(data: bytes, ctx: _Context, text_part: Callable[[str], bool]) -> list[str]:
    """The text of every XML part text_part accepts, and of every embedded file, read as files."""
    texts: list[str] = []
    with _open_zip(data) as archive:
        for info in archive.infolist():
            name = info.filename
            lower = name.lower()
            if info.is_dir() or lower.endswith(".rels") or _MEDIA.match(name) or lower == "[content_types].xml":
                continue
            if lower.endswith((".xml", ".vml")):
                if text_part(lower):
                    texts.append(_xml_text(archive.read(info)))
            elif lower.rsplit("/", 1)[-1] != "vbaproject.bin":
                # word/embeddings/…, xl/embeddings/…, an altChunk: files of their own.
                texts.append(_inside(name.rsplit("/", 1)[-1], archive.read(info), ctx, member=False))
    return texts


@_extractor("docx")
def _docx_text(data: bytes, ctx: _Context) -> str:
    # Body, tables, text boxes, headers, footers, footnotes, endnotes, comments, glossary.
    return "\n".join(_ooxml_parts(data, ctx, lambda name: name.startswith("word/")))


@_extractor("pptx")
def _pptx_text(data: bytes, ctx: _Context) -> str:
    # Slides, notes, comments, diagrams, charts' titles.
    return "\n".join(_ooxml_parts(data, ctx, lambda name: name.startswith("ppt/")))


# Comments (legacy and threaded, wherever the writer put them), text boxes and drawings' text.
_XLSX_TEXT_PARTS = re.compile(r"xl/(.*comment[^/]*|drawings/[^/]+|persons/[^/]+)\.(xml|vml)")


@_extractor("xlsx")
def _xlsx_text(data: bytes, ctx: _Context) -> str:
    # Read in a child process with a memory and a CPU ceiling (intake/confined.py): a crafted
    # workbook can make any reader build gigabytes in memory (one shared string in every cell).
    try:
        rows = run_confined(_xlsx_cell_rows, data, memory_bytes=confined.WORKBOOK_MEMORY_BYTES,
                            cpu_seconds=confined.WORKBOOK_CPU_SECONDS)
    except Exceeded:
        raise _NotInspectable(Reason("unreadable")) from None
    # Cell comments, threaded comments and text boxes are not cells: read their parts.
    rows.extend(_ooxml_parts(data, ctx, lambda name: bool(_XLSX_TEXT_PARTS.fullmatch(name))))
    return "\n".join(rows)


def _xlsx_cell_rows(data: bytes) -> list[str]:
    # All worksheets, hidden ones included: a hidden sheet is exactly
    # where a recipient list would go unnoticed.
    return ["\t".join(workbooks.cell_text(value) for value in row)
            for sheet in workbooks.worksheets(data) for row in sheet if any(value != "" for value in row)]


# Plain files and archives --------------------------------------------------------


@_extractor("csv", "txt")
def _plain_text(data: bytes, ctx: _Context) -> str:
    text = _decode_text(data)
    if text is None:  # pragma: no cover - sniffing already decoded it
        raise _NotInspectable(Reason("unreadable"))
    return text


@_extractor("image")
def _image_text(data: bytes, ctx: _Context) -> str:
    return ""  # no OCR: the reviewer has to look at images


@_extractor("zip")
def _zip_text(data: bytes, ctx: _Context) -> str:
    texts: list[str] = []
    with _open_zip(data) as archive:
        for info in archive.infolist():
            if info.is_dir() or _ARCHIVE_JUNK.search(info.filename):
                continue
            member = archive.read(info)
            if member:
                texts.append(_inside(info.filename, member, ctx, member=True))
    return "\n".join(texts)
