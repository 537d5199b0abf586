"""Sample files the tests attach: built here, byte for byte, so nothing is fetched."""

import io

from openpyxl import Workbook


def make_pdf(*lines: str) -> bytes:
    """A one-page PDF written by hand (pypdf cannot lay out text), one text line per argument (Latin-1)."""
    text = b" ".join(b"(%s) Tj 0 -14 Td" % line.encode("latin-1") for line in lines or ("taro@example.jp",))
    content = b"BT /F1 12 Tf 72 712 Td " + text + b" ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


NEWSLETTER_PDF = make_pdf("City Newsletter - November", "Autumn festival on 20 November at the central park.")


def xlsx(rows: list[list]) -> bytes:
    """A workbook whose first sheet holds these rows."""
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
