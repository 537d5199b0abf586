"""Time worst-case inputs at the upload limits through the real entry points.

    .venv/bin/python bench/adversarial.py [--case NAME ...] [--stop-after SECONDS]

Each case sends what an attacker (or an unlucky spreadsheet) could send through
the same pages a person uses: the list upload, the message form, the edit page
with its preflight, submission, the attachment upload, the ESP webhook. It prints
the seconds each took; the target is under 2 s each. A case still running after
``--stop-after`` seconds (default 120) is stopped and printed as such.

Everything happens in a throwaway directory (SQLite database, private files) that
is deleted afterwards; nothing touches the project's var/ or a DATABASE_URL from
the environment. The script exits non-zero only on errors, never because
something was slow, and asserts nothing.
"""

import argparse
import base64
import csv
import io
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
WEBHOOK_SECRET = "esp:bench-secret"


@dataclass
class Case:
    name: str
    label: str
    run: Callable[["Bench"], list[tuple[str, Callable[[], object]]]]


class Stopped(Exception):
    pass


@contextmanager
def stop_after(seconds: int):
    def alarm(signum, frame):
        raise Stopped

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def setup_django(var_dir: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "mailguard.settings"
    os.environ["MAILGUARD_VAR_DIR"] = var_dir
    os.environ["DATABASE_URL"] = f"sqlite:///{Path(var_dir) / 'bench.sqlite3'}"
    os.environ["MAILGUARD_ALLOWED_HOSTS"] = "testserver,localhost"
    os.environ["ANYMAIL_WEBHOOK_SECRET"] = WEBHOOK_SECRET
    os.environ["MAILGUARD_LOG_LEVEL"] = "ERROR"
    os.environ.pop("MAILGUARD_PRODUCTION", None)
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()
    import logging
    import warnings

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # A stopped step is reported by the bench itself; the static files folder does not matter here.
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", message="No directory at")


class Bench:
    """A drafter with a signed-in client, and helpers that go through the pages."""

    def __init__(self):
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.test import Client

        from approvals.management.commands.seed_demo import ensure_groups
        from approvals.models import SenderIdentity
        from approvals.roles import Role

        users = get_user_model().objects
        self.drafter = users.filter(username="bench-drafter").first() or users.create_user(
            "bench-drafter", "drafter@example.jp", "bench-password")
        self.drafter.groups.set([ensure_groups()[Role.DRAFTER]])
        self.sender = SenderIdentity.objects.get_or_create(
            email="service@city.example.jp", defaults={"display_name": "市民サービス課"})[0]
        self.client = Client(headers={"accept-language": "en"})
        self.limits = settings.MAILGUARD
        self.client.force_login(self.drafter)

    def campaign(self, rows: int = 3):
        from approvals import workflow

        campaign = workflow.create_campaign(self.drafter, "adversarial")
        if rows:
            self.upload_list(campaign, member_csv(rows), "members.csv")
        saved = self.save_message(campaign, subject="{{氏名}} 様", body="{{氏名}} 様\nお知らせです。")
        if saved.status_code != 302:
            raise RuntimeError("the bench could not save a message" + form_errors(saved))
        return campaign

    def upload_list(self, campaign, data: bytes, filename: str):
        from django.core.files.uploadedfile import SimpleUploadedFile
        from django.urls import reverse

        upload = SimpleUploadedFile(filename, data, content_type="application/octet-stream")
        return self.client.post(reverse("list_upload", args=[campaign.pk]), {"file": upload})

    def add_attachment(self, campaign, data: bytes, filename: str, content_type: str):
        from django.core.files.uploadedfile import SimpleUploadedFile
        from django.urls import reverse

        upload = SimpleUploadedFile(filename, data, content_type=content_type)
        return self.client.post(reverse("attachment_add", args=[campaign.pk]), {"file": upload})

    def save_message(self, campaign, *, subject: str, body: str, html: str = ""):
        from django.urls import reverse

        return self.client.post(reverse("campaign_edit", args=[campaign.pk]), {
            "name": "adversarial", "sender": self.sender.pk, "recipient_mode": "individual",
            "kind": "notice", "attachment_delivery": "attach",
            "subject": subject, "body_text": body, "body_html": html})

    def edit_page(self, campaign):
        from django.urls import reverse

        return self.client.get(reverse("campaign_edit", args=[campaign.pk]))

    def submit(self, campaign):
        from django.urls import reverse

        return self.client.post(reverse("campaign_submit", args=[campaign.pk]))

    def webhook(self, body: bytes):
        from django.test import Client

        auth = "Basic " + base64.b64encode(WEBHOOK_SECRET.encode()).decode()
        return Client().post("/anymail/postmark/tracking/", data=body, content_type="application/json",
                             HTTP_AUTHORIZATION=auth)


def member_csv(count: int, extra: dict[str, str] | None = None) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["氏名", "メールアドレス", *(extra or {})])
    for i in range(count):
        writer.writerow([f"山田 太郎{i}", f"member{i:06d}@example.com", *(extra or {}).values()])
    return buffer.getvalue().encode("utf-8")


# --- The cases ------------------------------------------------------------------------------------


def wide_csv(bench: Bench):
    columns = 100_000
    header = ["メールアドレス", *(f"c{i}" for i in range(columns - 1))]
    data = (",".join(header) + "\r\n" + "a@example.com" + ",x" * (columns - 1) + "\r\n").encode()
    campaign = bench.campaign(rows=0)
    return [(f"upload ({len(data) / MB:.1f} MB, {columns:,} columns)",
             lambda: bench.upload_list(campaign, data, "w.csv")),
            ("edit page with its preflight", lambda: bench.edit_page(campaign))]


def wide_csv_same_name(bench: Bench):
    columns = 100_000
    data = (",".join(["メールアドレス"] + ["名前"] * (columns - 1)) + "\r\na@example.com" + ",x" * (columns - 1)
            + "\r\n").encode()
    campaign = bench.campaign(rows=0)
    return [(f"upload ({len(data) / MB:.1f} MB, one name {columns:,} times)",
             lambda: bench.upload_list(campaign, data, "dup.csv"))]


def unclosed_braces(bench: Bench):
    body = "{{" * (4 * MB // 2)
    campaign = bench.campaign(rows=1_000)
    return [("save a 4 MB body of unclosed {{", lambda: bench.save_message(campaign, subject="{{氏名}}", body=body)),
            ("edit page with its preflight (1,000 rows)", lambda: bench.edit_page(campaign)),
            ("submit", lambda: bench.submit(campaign))]


def unclosed_braces_80k(bench: Bench):
    body = "{{ 氏名 " * (80 * 1024 // 7)
    campaign = bench.campaign(rows=1_000)
    return [("save an 80 KB body of '{{ 氏名 ' (the issue's case)",
             lambda: bench.save_message(campaign, subject="{{氏名}}", body=body, html=body)),
            ("edit page with its preflight (1,000 rows)", lambda: bench.edit_page(campaign)),
            ("submit", lambda: bench.submit(campaign))]


def one_word_body(bench: Bench):
    word = "a" * (2 * MB)
    body = f"{word}!{{{{氏名}}}} {word}@{word}"
    campaign = bench.campaign(rows=1_000)
    return [("save a 6 MB body of three words around a merge field",
             lambda: bench.save_message(campaign, subject="{{氏名}}", body=body)),
            ("edit page with its preflight (1,000 rows)", lambda: bench.edit_page(campaign)),
            ("submit", lambda: bench.submit(campaign))]


def long_subject(bench: Bench):
    subject = ("{{氏名}} " + "件" * 1000 + "\n") * 1000
    at_limit = ("{{氏名}}\n" * 100)[:500]
    campaign = bench.campaign(rows=1_000)
    return [("save a 4 MB subject with 1,000 line breaks",
             lambda: bench.save_message(campaign, subject=subject, body="{{氏名}}")),
            ("save a subject at the 500-character limit, 100 merge fields on 100 lines",
             lambda: bench.save_message(campaign, subject=at_limit, body="{{氏名}}")),
            ("edit page with its preflight (1,000 rows)", lambda: bench.edit_page(campaign))]


def long_line(bench: Bench):
    data = ("氏名,メールアドレス\r\n" + "山田," + "a" * (45 * MB) + "@example.com").encode()
    campaign = bench.campaign(rows=0)
    return [(f"upload a {len(data) / MB:.0f} MB CSV that is one line",
             lambda: bench.upload_list(campaign, data, "l.csv")),
            ("edit page with its preflight", lambda: bench.edit_page(campaign))]


def huge_cells(bench: Bench):
    rows = [["氏名", "メールアドレス", "備考"]]
    rows += [["x" * (8 * MB), f"m{i}@example.com", "y" * (8 * MB)] for i in range(2)]
    rows += [["山田", "z" * (8 * MB) + "@example.com", ""]]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    data = buffer.getvalue().encode()
    campaign = bench.campaign(rows=0)
    return [(f"upload {len(data) / MB:.0f} MB in five cells", lambda: bench.upload_list(campaign, data, "h.csv")),
            ("edit page with its preflight", lambda: bench.edit_page(campaign))]


def similar_long_addresses(bench: Bench):
    # As long as a cell may be: refused, as no address column keeps a value that long.
    local = "a" * 32_000
    huge = "氏名,メールアドレス\r\n" + "".join(f"x{i},{local}{i}@example.com\r\n" for i in range(1_000))
    # As long as the address column keeps (320 characters), the local part as long as the look-alike
    # check reads (64), and every address one letter away from every other: one cluster of look-alikes.
    domain = "d" * (320 - 64 - len("@.example.jp")) + ".example.jp"
    variants = [f"{'a' * at}{letter}{'a' * (63 - at)}@{domain}"
                for at in range(64) for letter in "bcdefghijklmnopqrstuvwxyz"]
    longest = "氏名,メールアドレス\r\n" + "".join(f"x{i},{address}\r\n" for i, address in enumerate(variants))
    campaign = bench.campaign(rows=0)
    return [(f"upload 1,000 addresses of 32,000 characters that differ by one character ({len(huge) / MB:.0f} MB)",
             lambda: bench.upload_list(campaign, huge.encode(), "s.csv")),
            (f"upload {len(variants):,} addresses of 320 characters, each one letter from every other",
             lambda: bench.upload_list(campaign, longest.encode(), "s.csv")),
            ("edit page with its preflight", lambda: bench.edit_page(campaign))]


def look_alike_groups(bench: Bench):
    """Look-alike addresses in groups as large as one key may gather: candidate pairs up to their limit."""
    from approvals.guards.distance import CROWDED_KEY, MAX_CANDIDATES

    pairs_per_group = CROWDED_KEY * (CROWDED_KEY - 1) // 2
    groups = MAX_CANDIDATES // pairs_per_group + 1
    # A group: a letter tag, then 36 a's of which one is b or c (64 ways): every address one letter from the
    # others, all sharing the key without that letter. Letters, not digits, so no group is a numbered series.
    def tag(group: int) -> str:
        return "".join("abcdefghijklmnopqrstuvwxyz"[group // 26 ** place % 26] for place in range(4))

    addresses = [f"{tag(group)}{'a' * at}{letter}{'a' * (35 - at)}@example.jp"
                 for group in range(groups) for at in range(CROWDED_KEY // 2) for letter in "bc"]
    rows = "氏名,メールアドレス\r\n" + "".join(f"x{i},{address}\r\n" for i, address in enumerate(addresses))
    campaign = bench.campaign(rows=0)
    return [(f"upload {len(addresses):,} addresses in groups of {CROWDED_KEY} look-alikes",
             lambda: bench.upload_list(campaign, rows.encode(), "g.csv")),
            (f"edit page with its preflight ({groups * pairs_per_group:,} candidate pairs, {MAX_CANDIDATES:,} read)",
             lambda: bench.edit_page(campaign))]


def cells_at_the_limit(bench: Bench):
    """The largest list that is not refused: every note as long as a spreadsheet cell may be."""
    note = ("会員の皆様へ、いつもありがとうございます。" * 1_600)[:32_767]
    rows = ["氏名,メールアドレス,備考"] + [f"山田 {i},m{i}@example.com,{note}" for i in range(480)]
    data = "\r\n".join(rows).encode()
    campaign = bench.campaign(rows=0)
    return [(f"upload {len(data) / MB:.0f} MB of cells at the limit (480 rows x 32,767 characters)",
             lambda: bench.upload_list(campaign, data, "n.csv")),
            ("save a message that merges the long column", lambda: bench.save_message(
                campaign, subject="{{氏名}} 様", body="{{氏名}} 様\n{{備考}}")),
            ("edit page with its preflight", lambda: bench.edit_page(campaign)),
            ("submit", lambda: bench.submit(campaign))]


def workbook(header: list[str], rows: list[list[str]], shared: list[str]) -> bytes:
    """A minimal .xlsx written part by part: cells are inline text, or ("s", n) for shared string n."""
    from tests.samples import xlsx_sharing

    def cell(value):
        return value[1] if isinstance(value, tuple) else value

    return xlsx_sharing([[cell(value) for value in row] for row in [header, *rows]], shared)


def random_kanji(count: int, seed: int) -> str:
    """Text that does not compress much (so the workbook's size limits do not refuse it first)."""
    import random

    generator = random.Random(seed)
    return "".join(chr(generator.randrange(0x4E00, 0x9FA0)) for _ in range(count))


def xlsx_shared_text(bench: Bench):
    """One shared string of 32,000 characters fills a cell of every row: kilobytes that expand to gigabytes."""
    note = [random_kanji(32_000, 1)]
    header = ["氏名", "メールアドレス", "備考"]
    bomb = workbook(header, [[f"山田 {i}", f"m{i}@example.com", ("s", 0)] for i in range(200_000)], note)
    largest = workbook(header, [[f"山田 {i}", f"m{i}@example.com", ("s", 0)] for i in range(520)], note)
    campaign = bench.campaign(rows=0)
    return [(f"upload {len(bomb) / MB:.1f} MB: one shared string in 200,000 rows (19 GB of text)",
             lambda: bench.upload_list(campaign, bomb, "shared.xlsx")),
            (f"upload {len(largest) / 1024:.0f} KB: the same in 520 rows, the most that is accepted (50 MB of text)",
             lambda: bench.upload_list(campaign, largest, "shared.xlsx")),
            ("edit page with its preflight", lambda: bench.edit_page(campaign))]


def xlsx_at_the_limit(bench: Bench):
    """The largest workbook of distinct text that is accepted: 520 notes of 32,000 kanji (50 MB as CSV)."""
    header = ["氏名", "メールアドレス", "備考"]
    notes = [random_kanji(32_000, seed) for seed in range(520)]
    data = workbook(header, [[f"山田 {i}", f"m{i}@example.com", ("s", i)] for i in range(520)], notes)
    campaign = bench.campaign(rows=0)
    return [(f"upload a workbook of {len(data) / MB:.0f} MB (520 rows x 32,000 kanji)",
             lambda: bench.upload_list(campaign, data, "notes.xlsx")),
            ("edit page with its preflight", lambda: bench.edit_page(campaign))]


def xlsx_markup(bench: Bench):
    """Sheets of markup openpyxl reads element by element: at the unpacking limit, and the most accepted."""
    import random

    from approvals.intake.lists import XLSX_BASE_ELEMENTS, XLSX_ELEMENTS_PER_ROW, XLSX_MAX_EXPANSION

    most_elements = XLSX_BASE_ELEMENTS + XLSX_ELEMENTS_PER_ROW * (bench.limits["MAX_RECIPIENTS"] + 1)

    generator = random.Random(2)
    filler = "".join(f'<x a="{generator.randrange(10)}"/>' for _ in range(100_000))  # compresses 13-fold
    budget = XLSX_MAX_EXPANSION * bench.limits["MAX_LIST_BYTES"] * 95 // 100  # the rest: the workbook's other parts
    at_limit = workbook_with_sheet_filler(filler, budget)
    # Each row: the filler's 100,000 elements and 5 of its own (row, c, is, t, and the header's share).
    most = workbook_with_sheet_filler(filler, (most_elements // 100_005 - 1) * (len(filler) + 80))
    campaign = bench.campaign(rows=0)
    return [(f"upload {len(at_limit) / MB:.0f} MB that unpacks to {budget / MB:.0f} MB of empty elements",
             lambda: bench.upload_list(campaign, at_limit, "markup.xlsx")),
            (f"upload {len(most) / MB:.0f} MB of just under {most_elements:,} elements, the most accepted",
             lambda: bench.upload_list(campaign, most, "markup.xlsx"))]


def workbook_with_sheet_filler(filler: str, size: int) -> bytes:
    """A one-column workbook whose rows carry filler after their cell, up to size bytes of sheet XML."""
    rows, total, number = [], 0, 2
    while total + len(filler) < size:
        rows.append([f"m{number}@example.com"])
        total += len(filler) + 80
        number += 1
    data = workbook(["メールアドレス"], rows, [])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            part = source.read(name)
            if name == "xl/worksheets/sheet1.xml":
                part = part.replace(b"</c></row>", b"</c>" + filler.encode() + b"</row>")
            target.writestr(name, part)
    return out.getvalue()


def xlsx_real_rows(bench: Bench):
    """For comparison, a real list at the row limit as Excel saves it (its text in shared strings)."""
    count = bench.limits["MAX_RECIPIENTS"]
    header = ["氏名", "メールアドレス", *(f"項目{i}" for i in range(6))]
    values = [f"値{v}" for v in range(97)]  # repeated values, as in real columns (Excel shares them)
    shared = [*values, *(f"山田 太郎{i}" for i in range(count)), *(f"member{i:06d}@example.com" for i in range(count))]
    rows = [[("s", 97 + i), ("s", 97 + count + i), *(("s", (i + j) % 97) for j in range(6))] for i in range(count)]
    data = workbook(header, rows, shared)
    campaign = bench.campaign(rows=0)
    return [(f"upload a real {len(data) / MB:.0f} MB workbook of {count:,} rows x 8 columns",
             lambda: bench.upload_list(campaign, data, "members.xlsx"))]


def csv_real_rows(bench: Bench):
    """The same real list as CSV UTF-8, for comparison with the workbook."""
    count = bench.limits["MAX_RECIPIENTS"]
    lines = ["氏名,メールアドレス," + ",".join(f"項目{i}" for i in range(6))]
    lines += [f"山田 太郎{i},member{i:06d}@example.com," + ",".join(f"値{(i + j) % 97}" for j in range(6))
              for i in range(count)]
    data = "\r\n".join(lines).encode()
    campaign = bench.campaign(rows=0)
    return [(f"upload the same {count:,} rows as a {len(data) / MB:.0f} MB CSV",
             lambda: bench.upload_list(campaign, data, "members.csv"))]


def nested_zip(bench: Bench):
    data = b"%PDF-1.4\n" + b"0" * (9 * MB)
    for depth in range(40):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"level{depth}.zip" if depth else "inner.pdf", data)
        data = buffer.getvalue()
    campaign = bench.campaign()
    return [(f"attach a ZIP nested 40 deep ({len(data) / 1024:.0f} KB, 9 MB inside)",
             lambda: bench.add_attachment(campaign, data, "deep.zip", "application/zip")),
            ("edit page with its preflight", lambda: bench.edit_page(campaign))]


def zip_bomb(bench: Bench):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(10):
            archive.writestr(f"part{i}.txt", b"0" * (200 * MB))
    data = buffer.getvalue()
    campaign = bench.campaign()
    return [(f"attach a ZIP of {len(data) / MB:.1f} MB that expands to 2 GB",
             lambda: bench.add_attachment(campaign, data, "bomb.zip", "application/zip")),
            ("edit page with its preflight", lambda: bench.edit_page(campaign))]


def many_entries_zip(bench: Bench):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for i in range(60_000):
            archive.writestr(f"d/{i}.txt", b"x")
    data = buffer.getvalue()
    campaign = bench.campaign()
    return [(f"attach a ZIP of 60,000 entries ({len(data) / MB:.1f} MB)",
             lambda: bench.add_attachment(campaign, data, "many.zip", "application/zip")),
            ("edit page with its preflight", lambda: bench.edit_page(campaign))]


def long_text_attachment(bench: Bench):
    data = ("a" * 9 * MB).encode()
    campaign = bench.campaign()
    return [("attach a 9 MB text file that is one line",
             lambda: bench.add_attachment(campaign, data, "line.txt", "text/plain")),
            ("edit page with its preflight", lambda: bench.edit_page(campaign))]


def webhook_nesting(bench: Bench):
    bench.campaign(rows=0)
    depth = 120_000
    nested = b"[" * depth + b"]" * depth
    unclosed = b"{" + b'"a":[' * 50_000
    return [(f"post {len(nested) / 1024:.0f} KB of nested JSON arrays", lambda: bench.webhook(nested)),
            (f"post {len(unclosed) / 1024:.0f} KB of unclosed JSON", lambda: bench.webhook(unclosed)),
            ("post 9 MB (over the limit)", lambda: bench.webhook(b"[" + b"0," * (9 * MB // 2) + b"0]")),
            ("post a JSON array", lambda: bench.webhook(json.dumps([{"RecordType": "Bounce"}] * 5000).encode()))]


CASES = [
    Case("wide-csv", "wide CSV", wide_csv),
    Case("wide-csv-one-name", "wide CSV, every column the same name", wide_csv_same_name),
    Case("unclosed-braces", "unclosed braces at the form limit", unclosed_braces),
    Case("unclosed-braces-80k", "unclosed braces, the issue's 80 KB body", unclosed_braces_80k),
    Case("one-word-body", "a body that is a few very long words", one_word_body),
    Case("long-subject", "long subject with line breaks", long_subject),
    Case("long-line", "a list that is one long line", long_line),
    Case("huge-cells", "huge single cells", huge_cells),
    Case("similar-long-addresses", "long, nearly identical addresses", similar_long_addresses),
    Case("look-alike-groups", "groups of look-alike addresses", look_alike_groups),
    Case("cells-at-the-limit", "the largest list that is accepted", cells_at_the_limit),
    Case("xlsx-shared-text", "a workbook whose one string fills every row", xlsx_shared_text),
    Case("xlsx-at-the-limit", "the largest workbook that is accepted", xlsx_at_the_limit),
    Case("xlsx-markup", "a workbook of markup at the unpacking limit", xlsx_markup),
    Case("xlsx-real-rows", "a real workbook at the row limit (for comparison)", xlsx_real_rows),
    Case("csv-real-rows", "a real CSV at the row limit (for comparison)", csv_real_rows),
    Case("nested-zip", "deeply nested ZIP", nested_zip),
    Case("zip-bomb", "ZIP bomb", zip_bomb),
    Case("many-entries-zip", "ZIP with many entries", many_entries_zip),
    Case("long-text-attachment", "a text attachment that is one line", long_text_attachment),
    Case("webhook", "webhook bodies", webhook_nesting),
]


def run(selected: list[Case], stop_seconds: int) -> None:
    from django.db import connection

    bench = Bench()
    worst = 0.0
    for case in selected:
        print(f"{case.label}:")
        steps = case.run(bench)
        for label, step in steps:
            started = time.perf_counter()
            try:
                with stop_after(stop_seconds):
                    response = step()
            except Stopped:
                print(f"  {label}: stopped after {stop_seconds} s")
                worst = max(worst, stop_seconds)
                connection.close()  # whatever the step left half done
                break
            elapsed = time.perf_counter() - started
            worst = max(worst, elapsed)
            status = getattr(response, "status_code", "")
            shown = refusal(response) if status == 302 else form_errors(response)
            print(f"  {label}: {elapsed:.2f} s" + (f" (HTTP {status})" if status else "") + shown)
    print(f"slowest step: {worst:.2f} s (target: under 2 s each)")


def refusal(response) -> str:
    """The error this step's request added (a refused upload, say), shortened.

    Only this request's own messages: earlier steps leave theirs unread in the session,
    because the bench never follows the redirect that would show them.
    """
    from django.contrib.messages import ERROR

    storage = getattr(getattr(response, "wsgi_request", None), "_messages", None)
    errors = [str(m) for m in getattr(storage, "_queued_messages", ()) if m.level == ERROR]
    return f"; refused: {errors[0][:90]}…" if errors else ""


# How crispy-bootstrap5 shows a field's error (the test client keeps no template context here).
_FIELD_ERROR = re.compile(r'class="invalid-feedback">\s*<p[^>]*><strong>(.*?)</strong>', re.S)


def form_errors(response) -> str:
    """A form the page sent back (a save that did not happen): a step is never shown as done when it was not."""
    errors = _FIELD_ERROR.findall(response.content.decode(errors="replace")) if response.status_code == 200 else []
    return f"; form refused: {errors[0][:90]}…" if errors else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", action="append", choices=[c.name for c in CASES],
                        help="run only these cases (repeatable; default: all)")
    parser.add_argument("--stop-after", type=int, default=120, help="stop a step after this many seconds")
    args = parser.parse_args()
    selected = [c for c in CASES if not args.case or c.name in args.case]
    var_dir = tempfile.mkdtemp(prefix="mailguard-adversarial-")
    try:
        setup_django(var_dir)
        run(selected, args.stop_after)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
