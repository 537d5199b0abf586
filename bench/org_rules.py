"""Time the organisation's rules: keywords and RE2 patterns over large texts and 100,000 domains,
and a pattern that makes a backtracking engine (Python's re) take exponential time.

    .venv/bin/python bench/org_rules.py [--megabytes 5]

Needs no database. Prints figures; exits non-zero only on errors, never because something was slow.
"""

import argparse
import os
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mailguard.settings")

import django  # noqa: E402

django.setup()

from approvals.org_rules import compile_rule, domain_matcher, prepare  # noqa: E402

PATTERNS = [
    ("keyword 社外秘", "keyword", "社外秘"),
    (r"pattern \b\d{4}-\d{4}-\d{4}\b", "pattern", r"\b\d{4}-\d{4}-\d{4}\b"),
    (r"pattern 口座\s*番号", "pattern", r"口座\s*番号"),
    ("pattern (a+)+$", "pattern", r"(a+)+$"),
]


def text_of(megabytes: float) -> str:
    rng = random.Random(7)
    words = ["会報", "お知らせ", "秋祭り", "会員番号", "M0001234", "市民サービス課", "2025年11月", "詳しくは",
             "newsletter"]
    parts, size = [], 0
    while size < megabytes * 1_000_000:
        word = rng.choice(words)
        parts.append(word)
        size += len(word.encode())
    return " ".join(parts)


def seconds(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=5)
    args = parser.parse_args()

    text = text_of(args.megabytes)
    prepared_in = seconds(lambda: prepare(text))
    prepared = prepare(text)
    print(f"text: {len(text.encode()) / 1e6:.1f} MB; NFKC + case folding once: {prepared_in:.3f} s")
    for label, match, expression in PATTERNS:
        matcher = compile_rule(match, expression)
        print(f"  {label:<36} {seconds(lambda m=matcher: m.find(prepared)):.3f} s")

    domains = [f"d{i}.example{i % 97}.jp" for i in range(100_000)]
    matches = domain_matcher("keyword", "example13.jp")
    print(f"100,000 recipient domains, keyword with subdomains: {seconds(lambda: sum(map(matches, domains))):.3f} s")

    print("pattern (a+)+$ on 'a' * n + '!':  RE2 (google-re2)  vs  Python re (backtracking)")
    for n in (16, 18, 20, 22):
        hostile = "a" * n + "!"
        re2_time = seconds(lambda h=hostile: compile_rule("pattern", r"(a+)+$").find(prepare(h)))
        re_time = seconds(lambda h=hostile: re.search(r"(a+)+$", h))
        print(f"  n={n:<3} RE2 {re2_time * 1000:8.2f} ms   re {re_time * 1000:10.1f} ms")
    long_hostile = "a" * 1_000_000 + "!"
    print(f"  n=1,000,000  RE2 {seconds(lambda: compile_rule('pattern', r'(a+)+$').find(prepare(long_hostile))):.3f} s"
          "   re: not attempted (it would not finish)")


if __name__ == "__main__":
    main()
