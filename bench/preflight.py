"""Time the recipient-list import and the preflight on a generated list.

    .venv/bin/python bench/preflight.py [--rows 100000] [--kind numbered|named]

Everything happens in a throwaway directory (SQLite database, private files)
that is deleted afterwards; nothing touches the project's own var/ or a
DATABASE_URL from the environment. The list is what Japanese offices upload:
a CP932 (Shift_JIS) CSV from Excel with kanji names, addresses, member numbers
and phone numbers. The message merges the name and member number and carries
an unsubscribe link with the recipient's own address (incident 12's template),
plus a small PDF newsletter.

Then the same list as a newsletter whose PDF goes as download links: the link scan
(guards/link_ownership.py) with only MailGuard's additions to check, and with a pasted
unsubscribe link in the body, when every message is rendered whole.

The script exits non-zero only on errors, never because something was slow.
"""

import argparse
import csv
import io
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FAMILY = ["佐藤", "鈴木", "髙橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "吉田", "山田", "佐々木",
          "山口", "松本", "井上", "木村", "林", "斎藤", "清水", "山崎", "森", "池田", "橋本", "阿部", "石川",
          "山下", "中島", "石井", "小川", "前田", "岡田", "長谷川", "藤田", "後藤", "近藤", "村上", "遠藤",
          "青木", "坂本", "齊藤", "福田", "太田", "西村", "藤井", "金子", "岡本", "藤原", "中野", "三浦"]
GIVEN_KANJI = "太郎花子一二三美咲健翔大輔陽菜結愛真由香奈恵直樹和也拓海優斗彩乃千尋春夏秋冬明宏正雄幸"

SUBJECT = "{{氏名}} 様 会報6月号のお知らせ"
BODY = """{{氏名}} 様

いつもご利用いただきありがとうございます。会員番号 {{会員番号}} の皆様へ、会報6月号をお届けします。
添付の PDF をご覧ください。

配信停止: https://example.jp/unsubscribe?m={{メールアドレス}}

市民サービス課 03-1234-5678（平日 9時～17時）
"""
HTML = """<p>{{氏名}} 様</p>
<p>会員番号 {{会員番号}} の皆様へ、会報6月号をお届けします。</p>
<p><a href="https://example.jp/unsubscribe?m={{メールアドレス}}">配信停止</a></p>
"""


def member_csv(count: int, kind: str = "numbered") -> bytes:
    """A CP932 CSV as Excel writes it ("CSV (コンマ区切り)"), CRLF line ends.

    "numbered": addresses like member000123@example.com (no names to romanise);
    "named": realistic members from bench/corpus.py, most addresses carrying the
    member's name, so the name checks romanise and compare every row.
    """
    if kind == "named":
        from bench.corpus import clean_members, csv_bytes

        rows = clean_members(count, 20240601)
        return csv_bytes([{"氏名": r["氏名"], "メールアドレス": r["メールアドレス"], "会員番号": r["会員番号"],
                           "電話番号": r["電話番号"]} for r in rows])
    rng = random.Random(20240601)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["氏名", "メールアドレス", "会員番号", "電話番号"])
    for i in range(count):
        name = f"{rng.choice(FAMILY)} {''.join(rng.sample(GIVEN_KANJI, 2))}"
        phone = f"0{rng.choice('789')}0-{i // 10000 + 1000:04d}-{i % 10000:04d}"
        writer.writerow([name, f"member{i:06d}@example.com", f"M{i + 1:07d}", phone])
    return buffer.getvalue().encode("cp932")


def setup_django(var_dir: str, rows: int) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "mailguard.settings"
    os.environ["MAILGUARD_VAR_DIR"] = var_dir
    # A throwaway SQLite file, whatever DATABASE_URL the shell has.
    os.environ["DATABASE_URL"] = f"sqlite:///{Path(var_dir) / 'bench.sqlite3'}"
    os.environ["MAILGUARD_MAX_RECIPIENTS"] = str(max(rows, 200_000))
    os.environ["MAILGUARD_MAX_LIST_BYTES"] = str(max(rows * 200, 50 * 1024 * 1024))
    # Never the internet: the sender domain's DNS records are not looked up here.
    os.environ["MAILGUARD_SENDER_AUTH_CHECK"] = "0"
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def run(rows: int, kind: str) -> None:
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from approvals import guards, workflow
    from approvals.guards.context import PreflightContext
    from approvals.intake.lists import read_recipient_list
    from approvals.management.commands.seed_demo import ensure_groups
    from approvals.models import SenderIdentity, UserProfile
    from approvals.roles import Role

    drafter = get_user_model().objects.create_user("bench-drafter", "drafter@example.jp", "bench-password")
    drafter.groups.set([ensure_groups()[Role.DRAFTER]])
    UserProfile.objects.filter(user=drafter).update(trial_mode=False)  # new accounts start in trial mode
    sender = SenderIdentity.objects.create(display_name="市民サービス課", email="service@city.example.jp")

    data = member_csv(rows, kind)
    limits = settings.MAILGUARD
    campaign = workflow.create_campaign(drafter, "会報6月号")
    started = time.perf_counter()
    table = read_recipient_list("members.csv", data, max_bytes=limits["MAX_LIST_BYTES"],
                                max_rows=limits["MAX_RECIPIENTS"])
    workflow.replace_recipient_list(campaign, drafter, "members.csv", table)
    elapsed = time.perf_counter() - started
    print(f"import {len(table.rows)} rows: {elapsed:.2f} s ({len(table.rows) / elapsed:.0f} rows/s)"
          f" [{len(data) / 1_048_576:.1f} MB {table.encoding} CSV]")

    workflow.update_message(campaign, drafter, sender=sender, recipient_mode="individual",
                            subject=SUBJECT, body_text=BODY, body_html=HTML)
    from tests.samples import NEWSLETTER_PDF

    workflow.add_attachment(campaign, drafter, "会報6月号.pdf", NEWSLETTER_PDF, "application/pdf")
    campaign.refresh_from_db()

    recipients = campaign.recipients.count()
    started, cpu = time.perf_counter(), time.process_time()
    findings = guards.run_preflight(campaign)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    by_severity: dict[str, list[str]] = {}
    for finding in findings:
        by_severity.setdefault(str(finding.severity), []).append(finding.code)
    described = "; ".join(f"{severity}: {', '.join(codes)}" for severity, codes in sorted(by_severity.items()))
    print(f"preflight {recipients} recipients: {elapsed:.2f} s ({recipients / elapsed:.0f} messages/s; "
          f"this process's CPU {cpu:.2f} s, the rest is waiting for the database and other processes), "
          f"findings: {len(findings)}" + (f" ({described})" if described else ""))
    print(f"  machine load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    # Where the time goes (a second, separate run; not part of the figure above).
    started = time.perf_counter()
    context = PreflightContext.load(campaign)
    print(f"  load context: {time.perf_counter() - started:.2f} s")
    for check in guards.CHECKS:
        started, cpu = time.perf_counter(), time.process_time()
        list(check(context))
        print(f"  {check.__module__.rsplit('.', 1)[-1]}.{check.__name__}: {time.perf_counter() - started:.2f} s"
              f" (CPU {time.process_time() - cpu:.2f} s)")

    # The same list as a newsletter whose PDF goes as links: the link scan renders every message.
    from approvals.guards import link_ownership

    workflow.update_message(campaign, drafter, kind="newsletter", attachment_delivery="links")
    campaign.refresh_from_db()
    context = PreflightContext.load(campaign)
    started = time.perf_counter()
    found = list(link_ownership.messages_carry_only_their_own_links(context))
    elapsed = time.perf_counter() - started
    print(f"link scan, newsletter with links, {recipients} messages' links rendered: {elapsed:.2f} s "
          f"({recipients / elapsed:.0f} messages/s), findings: {len(found)}")

    # Worst case: the body holds a pasted unsubscribe link (incident 12), so every message is rendered whole.
    from approvals.rendering import render_for

    pasted = render_for(campaign, campaign.recipients.order_by("row_number").first()).headers["List-Unsubscribe"]
    link = pasted.split(",")[0].strip("<> ")
    workflow.update_message(campaign, drafter, body_text=BODY + "\n停止: " + link)
    campaign.refresh_from_db()
    context = PreflightContext.load(campaign)
    started = time.perf_counter()
    found = list(link_ownership.messages_carry_only_their_own_links(context))
    elapsed = time.perf_counter() - started
    print(f"link scan, a pasted link in the body, {recipients} messages rendered whole: {elapsed:.2f} s "
          f"({recipients / elapsed:.0f} messages/s), findings: {[f.code for f in found]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="recipients to generate (default 100000)")
    parser.add_argument("--kind", choices=("numbered", "named"), default="numbered",
                        help="numbered member addresses (default) or realistic named members")
    args = parser.parse_args()
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    var_dir = tempfile.mkdtemp(prefix="mailguard-bench-")
    try:
        setup_django(var_dir, args.rows)
        run(args.rows, args.kind)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
