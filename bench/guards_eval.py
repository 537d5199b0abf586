"""How well the guards hold on lists and files nobody wrote them for: recall and false alarms.

    .venv/bin/python bench/guards_eval.py [--seed 8] [--quick]

Generates a labelled corpus from a seeded RNG (``bench/corpus.py``): clean,
realistic Japanese member lists of 1,000 to 20,000 rows, and faulty copies with
each incident class injected in several variants (header names, shift direction
and distance, partial shifts and one column sorted on its own, look-alike
domains of carriers, free mail and the municipality's own lg.jp domain, the same
person entered twice with a typo, lists hidden in every file format, scripted
PDFs, values that NFKC would change). Every list goes through the real reader
(CP932 CSV bytes -> ``read_recipient_list``) and every check of the preflight
(``guards.run_checks``), in memory.

Prints, per class, how many injected cases were found (recall) and, for the
clean lists, the acknowledge items per 1,000 rows (false alarms) and how many
findings a reviewer must tick on a clean 5,000-row list. Nothing is asserted:
the script exits non-zero only on errors.
"""

import argparse
import os
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SUBJECT = "{{氏名}} 様 会報11月号のお知らせ"
BODY = "{{氏名}} 様\n\nいつもありがとうございます。会員番号 {{会員番号}} の皆様へ、会報11月号をお届けします。\n\n" \
       "港北市 市民協働課 03-1234-5678"
CLEAN_SIZES = (1000, 2000, 5000, 10000, 20000)
NAME_HEADERS = ("氏名", "宛先名", "お名前", "受信者", "会員名", "Name", "担当者", "項目3", "なまえ")


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mailguard.settings")
    import django

    django.setup()
    from django.utils import translation

    translation.activate("en")


def context_for(rows, *, attachments=(), history_share=0.0, rng=None, body=BODY, subject=SUBJECT):
    """Read the list as uploaded (CP932 CSV) and build the preflight context in memory."""
    from approvals.guards.context import AttachmentFile, PreflightContext, Row, Sent
    from approvals.intake.lists import read_recipient_list
    from approvals.models import Campaign, SenderIdentity
    from bench.corpus import ORGANISATION, csv_bytes

    table = read_recipient_list("members.csv", csv_bytes(rows), max_bytes=50 * 2**20, max_rows=200_000)
    address, name = table.guess_address_column(), table.guess_name_column() or ""
    columns = table.columns
    name_column = next((c for c in columns if "{{" + c + "}}" in subject), name)
    campaign = Campaign(name="会報", columns=columns, address_column=address, name_column=name or "",
                        subject=subject.replace("{{氏名}}", "{{" + name_column + "}}"),
                        body_text=body.replace("{{氏名}}", "{{" + name_column + "}}"), list_sha256="x")
    campaign.sender = SenderIdentity(display_name="港北市", email=f"kyodo@{ORGANISATION}")
    recipients = [Row(number, values.get(address, ""), values.get(name, "") if name else "", values)
                  for number, values in zip(table.row_numbers, table.rows, strict=True)]
    ctx = PreflightContext(campaign=campaign, rows=recipients, internal_domains={ORGANISATION}, suppressed={},
                           attachments=[AttachmentFile(n, d, len(d)) for n, d in attachments],
                           sender_domains={ORGANISATION})
    if history_share and rng is not None:
        # Most members were mailed before: the history a real installation has.
        for row in recipients:
            if rng.random() < history_share:
                ctx.history[row.address.lower()] = Sent(row.display_name)
                ctx.delivered_domains.add(row.address.rpartition("@")[2].lower())
    return ctx


def findings_of(ctx):
    from approvals import guards

    return guards.run_checks(ctx)


class Tally:
    def __init__(self):
        self.cases = defaultdict(lambda: [0, 0])
        self.missed: list[str] = []

    def record(self, cls: str, variant: str, found: bool) -> None:
        self.cases[cls][0] += found
        self.cases[cls][1] += 1
        if not found:
            self.missed.append(f"{cls}: {variant}")


def covers(findings, codes, rows=None) -> bool:
    """A finding of one of codes that names the injected rows (when given) and stops or must be ticked."""
    for finding in findings:
        if finding.code in codes and finding.severity != "info" and (rows is None or set(rows) <= set(finding.rows)):
            return True
    return False


# --- Clean lists ---------------------------------------------------------------------------


def evaluate_clean(seed: int, sizes) -> list[tuple]:
    from bench.corpus import clean_members

    results = []
    for size in sizes:
        rng = random.Random(seed + size)
        rows = clean_members(size, seed + size)
        ctx = context_for(rows, history_share=0.8, rng=rng)
        started = time.perf_counter()
        findings = findings_of(ctx)
        elapsed = time.perf_counter() - started
        blocks = [f for f in findings if f.severity == "block"]
        ticks = [f for f in findings if f.severity == "acknowledge"]
        flagged_rows = {row for f in ticks for row in f.rows}
        results.append((size, blocks, ticks, len(flagged_rows), elapsed))
    return results


# --- Faulty copies -----------------------------------------------------------------------


def evaluate_shifts(seed: int, tally: Tally) -> None:
    from bench.corpus import clean_members, renamed, shift, sort_block

    rng = random.Random(seed)
    for n, header in enumerate(NAME_HEADERS):
        base = renamed(clean_members(rng.choice((1000, 2000, 3000)), seed * 100 + n), "氏名", header)
        start = rng.randrange(10, len(base) - 300)
        variants = [
            ("up by 1 to the end", shift(base, header, start, len(base), +1), range(start, len(base) - 1)),
            ("down by 1, 80 rows", shift(base, header, start, 80, -1), range(start, start + 80)),
            ("up by 2, 60 rows", shift(base, header, start, 60, +2), range(start, start + 60)),
            ("down by 3, 40 rows", shift(base, header, start, 40, -3), range(start, start + 40)),
            ("20 rows sorted on their own", sort_block(base, header, start, 20), range(start, start + 20)),
        ]
        if n % 3 == 0:  # the reading column drifts instead of the names
            variants.append(("kana column up by 1, 50 rows", shift(base, "フリガナ", start, 50, +1),
                             range(start, start + 50)))
        for label, rows, changed in variants:
            moved = [i + 2 for i in changed if rows[i] != base[i]]  # list rows, header = row 1
            subject = f"{{{{{header}}}}} 様 会報のお知らせ"
            findings = findings_of(context_for(rows, subject=subject, body=BODY.replace("氏名", header)))
            hit = any(f.code == "list.names_shifted" and f.severity != "info"
                      and len(set(moved) & set(f.rows)) >= len(moved) // 2 for f in findings)
            tally.record("names shifted", f"header {header}, {label}", hit)


def evaluate_lookalikes(seed: int, tally: Tally) -> None:
    from bench.corpus import CONFUSIONS, ORGANISATION, clean_members, with_domain

    rng = random.Random(seed + 1)
    for number, (meant, lookalikes) in enumerate(CONFUSIONS.items()):
        base = clean_members(3000, seed * 7 + number)
        if meant == ORGANISATION:  # the municipality's own staff list: its domain is the majority
            base = [dict(row, メールアドレス=row["メールアドレス"].rpartition("@")[0] + "@" + ORGANISATION)
                    if i % 3 else row for i, row in enumerate(base)]
        holders = [i for i, row in enumerate(base) if row["メールアドレス"].endswith("@" + meant)]
        for lookalike in lookalikes:
            index = rng.choice(holders)
            rows = with_domain(base, index, lookalike)
            findings = findings_of(context_for(rows))
            tally.record("look-alike domains", f"{lookalike} for {meant}",
                         covers(findings, {"list.lookalike_domain", "list.domain_typo"}, [index + 2]))


def evaluate_twins(seed: int, tally: Tally) -> None:
    from bench.corpus import clean_members, duplicated_with_typo

    rng = random.Random(seed + 2)
    base = clean_members(2000, seed * 11)
    for case in range(12):
        index = rng.randrange(20, 1900)
        rows = duplicated_with_typo(base, index, rng)
        twin = next(i for i in range(index + 1, len(rows)) if rows[i]["会員番号"].startswith("M9"))
        findings = findings_of(context_for(rows))
        tally.record("same person twice, one address mistyped", f"case {case}: {rows[index]['メールアドレス']} / "
                     f"{rows[twin]['メールアドレス']}",
                     covers(findings, {"list.similar_addresses", "list.duplicate_address", "list.duplicate_mailbox"},
                            [index + 2, twin + 2]))


def evaluate_files(seed: int, tally: Tally) -> None:
    from approvals.intake.attachments import inspect_attachment
    from bench.corpus import clean_members, hidden_list_files, pdf_file

    rows = clean_members(1000, seed * 13)
    for variant, (name, data) in hidden_list_files(rows).items():
        findings = findings_of(context_for(rows, attachments=[(name, data)]))
        tally.record("list hidden in an attachment", variant,
                     covers(findings, {"attachment.list_addresses", "attachment.list_rows"}))
    for variant, data in (("OpenAction JavaScript", pdf_file(open_action_js=True)),
                          ("Launch action", pdf_file(launch=True))):
        findings = findings_of(context_for(rows, attachments=[("会報.pdf", data)]))
        tally.record("scripted PDF refused", variant, covers(findings, {"attachment.refused"}))
    inspection = inspect_attachment("お知らせ.txt", b"<html><body><script>alert(1)</script></body></html>",
                                    max_bytes=10 * 2**20)
    tally.record("type sniffed, never the browser's", ".txt posted as text/html", inspection.mime == "text/plain")


def evaluate_values(seed: int, tally: Tally) -> None:
    from approvals.intake.lists import read_recipient_list
    from bench.corpus import clean_members, csv_bytes

    rows = clean_members(1000, seed * 17)
    typed = ["髙橋 ①郎", "㈱みつばち", "ﾔﾏﾀﾞ ﾀﾛｳ", "Ｓａｔｏ Ｈａｎａｋｏ", "佐藤\u3000花子", "齋藤 ｹﾝ"]
    for i, name in enumerate(typed):
        rows[10 + i]["氏名"] = name
    for encoding in ("cp932", "utf-8"):
        table = read_recipient_list("m.csv", csv_bytes(rows, encoding), max_bytes=50 * 2**20, max_rows=200_000)
        for i, name in enumerate(typed):
            tally.record("values kept as typed", f"{name} ({encoding})", table.rows[10 + i]["氏名"] == name)
    rows[40]["メールアドレス"] = rows[40]["メールアドレス"].replace("@", "＠")
    rows[41]["メールアドレス"] = " " + rows[41]["メールアドレス"] + "\u3000"
    findings = findings_of(context_for(rows))
    note = [f for f in findings if f.code == "list.address_normalised"]
    tally.record("values kept as typed", "full-width ＠ and spaces shown as an info finding naming the rows",
                 bool(note) and {42, 43} <= set(note[0].rows))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="clean lists of 1,000 and 5,000 rows only")
    args = parser.parse_args()
    setup()
    started = time.perf_counter()
    tally = Tally()
    evaluate_shifts(args.seed, tally)
    evaluate_lookalikes(args.seed, tally)
    evaluate_twins(args.seed, tally)
    evaluate_files(args.seed, tally)
    evaluate_values(args.seed, tally)
    clean = evaluate_clean(args.seed, (1000, 5000) if args.quick else CLEAN_SIZES)

    print(f"Guards evaluation (seed {args.seed}): injected faults")
    print(f"  {'class':<44} {'found':>7} {'recall':>8}")
    for cls, (found, total) in tally.cases.items():
        print(f"  {cls:<44} {found:>3}/{total:<3} {found / total:>8.0%}")
    for missed in tally.missed:
        print(f"  MISSED {missed}")
    print("Clean lists (realistic members, 80% mailed before)")
    print(f"  {'rows':>6} {'blocks':>6} {'to tick':>7} {'flagged rows':>12} {'per 1,000':>9} "
          f"{'preflight':>9}  findings")
    for size, blocks, ticks, flagged, elapsed in clean:
        codes = ", ".join(sorted({f.code for f in blocks + ticks})) or "—"
        print(f"  {size:>6} {len(blocks):>6} {len(ticks):>7} {flagged:>12} {flagged * 1000 / size:>9.2f}"
              f" {elapsed:>8.2f}s  {codes}")
    total_rows = sum(size for size, *_ in clean)
    total_flagged = sum(flagged for _s, _b, _t, flagged, _e in clean)
    five = next((len(ticks) for size, _b, ticks, _f, _e in clean if size == 5000), None)
    print(f"Acknowledge items per 1,000 clean rows: {total_flagged * 1000 / total_rows:.2f} (target <= 1)")
    print(f"Items to tick on the clean 5,000-row list: {five} (target <= 5)")
    found = sum(f for f, _t in tally.cases.values())
    total = sum(t for _f, t in tally.cases.values())
    print(f"Injected cases found: {found}/{total} (target: all)   [{time.perf_counter() - started:.0f} s]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
