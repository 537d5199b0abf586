"""Recipient-list guards: one valid, intended, mailable address per row (incidents 10, 13 and 14).

The contexts are built by hand from unsaved campaigns: no database is needed.
"""

import random
import string

import pytest
from django.utils import translation
from email_validator import EmailNotValidError, validate_email

from approvals.guards import recipients
from approvals.guards.context import PreflightContext, Row
from approvals.guards.findings import Severity
from approvals.intake.lists import read_recipient_list
from approvals.models import Campaign
from tests.factories import csv_bytes, members

COLUMNS = ["氏名", "メールアドレス", "会員番号", "備考"]


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def context(addresses, *, names=None, data=None, internal=(), suppressed=None, columns=COLUMNS,
            name_column="氏名", subject="{{氏名}} 様", body="会員番号 {{会員番号}}") -> PreflightContext:
    """A list whose row n (as Excel numbers it, header = row 1) holds addresses[n - 2]."""
    names = names or [f"会員 {i}" for i in range(len(addresses))]
    rows = []
    for number, (address, name) in enumerate(zip(addresses, names, strict=True), start=2):
        values = {"氏名": name, "メールアドレス": address, "会員番号": f"M{number:05d}", "備考": ""}
        values.update((data or {}).get(number, {}))
        rows.append(Row(number, address, name, values))
    campaign = Campaign(name="会報", columns=columns, address_column="メールアドレス", name_column=name_column,
                        subject=subject, body_text=body)
    return PreflightContext(campaign=campaign, rows=rows, internal_domains=set(internal),
                            suppressed=dict(suppressed or {}))


def run(check, ctx):
    return list(check(ctx))


def only(check, ctx):
    findings = run(check, ctx)
    assert len(findings) == 1, findings
    return findings[0]


# --- list_is_present and list_size ------------------------------------------------------


def test_a_campaign_without_a_list_is_blocked():
    ctx = context([])
    assert only(recipients.list_is_present, ctx).severity == Severity.BLOCK


def test_a_list_over_the_recipient_limit_is_blocked_with_the_limit(settings):
    settings.MAILGUARD = {**settings.MAILGUARD, "MAX_RECIPIENTS": 3}
    finding = only(recipients.list_size, context([f"m{i}@example.jp" for i in range(4)]))
    assert finding.severity == Severity.BLOCK
    assert "4 rows" in finding.message and "at most 3" in finding.message


def test_a_list_at_the_recipient_limit_passes(settings):
    settings.MAILGUARD = {**settings.MAILGUARD, "MAX_RECIPIENTS": 3}
    assert run(recipients.list_size, context([f"m{i}@example.jp" for i in range(3)])) == []


# --- addresses_are_valid ------------------------------------------------------------------


def test_a_full_width_address_normalised_by_the_reader_is_valid():
    data = csv_bytes([{"氏名": "山田 太郎", "メールアドレス": "ｔａｒｏ．ｙａｍａｄａ＠ｅｘａｍｐｌｅ．ｊｐ"}])
    table = read_recipient_list("list.csv", data, max_bytes=10_000, max_rows=10)
    address = table.rows[0]["メールアドレス"]
    assert address == "taro.yamada@example.jp"
    assert run(recipients.addresses_are_valid, context([address])) == []


@pytest.mark.parametrize("address", ["taro@例え.jp", "taro@xn--r8jz45g.jp", "山田@例え.jp", "taro@日本語.テスト.jp"])
def test_an_internationalised_domain_is_valid(address):
    assert run(recipients.addresses_are_valid, context([address])) == []


def test_invalid_addresses_are_blocked_naming_their_rows():
    ctx = context(["ok@example.jp", "taro@@example.jp", "hanako@example", "ok2@example.jp", "ichiro example@x.jp"])
    finding = only(recipients.addresses_are_valid, ctx)
    assert finding.severity == Severity.BLOCK
    assert finding.rows == (3, 4, 6)
    assert "row 3: taro@@example.jp" in finding.message and "upload it again" in finding.message


def test_an_empty_address_is_left_to_the_missing_value_check():
    ctx = context(["ok@example.jp", ""])
    assert run(recipients.addresses_are_valid, ctx) == []
    assert only(recipients.missing_values, ctx).rows == (3,)


TRICKY_ADDRESSES = [
    "a@b.jp", "A.B-c_d+e@Example.CO.JP", "a@b.c", "a@123.45", "a@-b.jp", "a@b-.jp", "a@b..jp", "a.@b.jp", ".a@b.jp",
    "a..b@b.jp", "a@localhost", "a@b.local", "a@b.test", "a@b.invalid", "a@xn--r8jz45g.jp", "a@xn--zz.jp",
    "a@例え.jp", "a@ab--cd.jp", "ab--cd@x.jp", "x" * 64 + "@b.jp", "x" * 65 + "@b.jp", "a@" + "b" * 63 + ".jp",
    "a@" + "b" * 64 + ".jp", "a@" + ("b" * 60 + ".") * 4 + "jp", "x" * 64 + "@" + ("b" * 60 + ".") * 3 + "jp",
    '"a b"@x.jp', "a@[1.2.3.4]", "Taro <a@b.jp>", "a b@c.jp", "日本@例え.jp", "a@b.jp.", "a@b_c.jp", "a@b.j",
    "a@b", "@b.jp", "a@", "a", "a@@b.jp", "a@b@c.jp", "a!#$%&'*+/=?^`{|}~@b.jp", "a@b.jp ", "a\u200b@b.jp",
]


@pytest.mark.parametrize("address", TRICKY_ADDRESSES)
def test_the_fast_validity_check_agrees_with_email_validator(address):
    try:
        validate_email(address, check_deliverability=False)
        expected = True
    except EmailNotValidError:
        expected = False
    assert recipients.is_valid_address(address) is expected


# --- addresses_are_unique -----------------------------------------------------------------


def test_the_same_address_in_two_rows_is_blocked_naming_both_rows():
    ctx = context(["taro@example.jp", "hanako@example.jp", "Taro@Example.JP", "ichiro@example.jp"])
    finding = only(recipients.addresses_are_unique, ctx)
    assert (finding.code, finding.severity) == ("list.duplicate_address", Severity.BLOCK)
    assert finding.rows == (2, 4)
    assert "rows 2, 4" in finding.message and "twice" in finding.message


def test_gmail_dot_and_plus_variants_are_the_same_mailbox():
    ctx = context(["taro.yamada@gmail.com", "hanako@gmail.com", "taroyamada+news@googlemail.com"])
    finding = only(recipients.addresses_are_unique, ctx)
    assert (finding.code, finding.severity) == ("list.duplicate_mailbox", Severity.BLOCK)
    assert finding.rows == (2, 4)
    assert "taro.yamada@gmail.com = taroyamada+news@googlemail.com" in finding.message


def test_dots_and_plus_tags_make_different_addresses_outside_gmail():
    ctx = context(["taro.yamada@example.jp", "taroyamada@example.jp", "taro+news@example.jp", "taro@example.jp"])
    assert run(recipients.addresses_are_unique, ctx) == []


def test_a_punycode_and_a_unicode_domain_are_one_address():
    finding = only(recipients.addresses_are_unique, context(["taro@例え.jp", "taro@xn--r8jz45g.jp"]))
    assert finding.code == "list.duplicate_address"
    assert finding.rows == (2, 3)


# --- similar_addresses --------------------------------------------------------------------


def test_near_identical_addresses_are_flagged_for_acknowledgement():
    ctx = context(["tanaka.taro@example.jp", "suzuki.hanako@example.jp", "tanaka.tar0@example.jp"])
    finding = only(recipients.similar_addresses, ctx)
    assert finding.severity == Severity.ACKNOWLEDGE
    assert finding.rows == (2, 4)
    assert "row 2 tanaka.taro@example.jp ↔ row 4 tanaka.tar0@example.jp" in finding.message


@pytest.mark.parametrize("other", [
    "tanaka.tarou@example.jp",  # one letter more
    "tanaak.taro@example.jp",  # two neighbours swapped
    "tanaka-taro@example.jp",  # another separator
    "tanka.taaro@example.jp",  # a letter moved: one deletion and one insertion
    "tanakataro@example.jp",  # separator dropped
])
def test_one_or_two_keystrokes_apart_is_similar(other):
    finding = only(recipients.similar_addresses, context(["tanaka.taro@example.jp", other]))
    assert finding.rows == (2, 3)


def test_two_given_names_of_one_family_are_not_similar():
    # Two letters replaced at once is another name far more often than a typo; the
    # index deliberately pairs single slips only (plus moved letters and spelling variants).
    assert run(recipients.similar_addresses, context(["tanaka.taro@example.jp", "tanaka.jiro@example.jp"])) == []


def test_romanisation_variants_of_one_name_are_similar():
    ctx = context(["satou.yuuki@example.jp", "sato.yuki@example.jp", "shinbashi@example.jp", "sinbasi@example.jp"])
    finding = only(recipients.similar_addresses, ctx)
    assert finding.rows == (2, 3, 4, 5)
    assert "2 pairs" in finding.message


def test_short_local_parts_are_not_compared():
    assert run(recipients.similar_addresses, context(["ken@example.jp", "ben@example.jp", "kan@example.jp"])) == []


def test_two_addresses_that_differ_in_one_digit_are_similar():
    # Incident 13: two whistleblowers, k.yamada1975 and k.yamada1976.
    ctx = context(["k.yamada1975@example.ne.jp", "k.yamada1976@example.ne.jp"])
    assert only(recipients.similar_addresses, ctx).rows == (2, 3)


def test_a_numbered_series_is_not_a_set_of_similar_addresses():
    assert run(recipients.similar_addresses, context([row["メールアドレス"] for row in members(300)])) == []
    assert run(recipients.similar_addresses, context([f"s21{n:05d}@u.example.ac.jp" for n in range(5)])) == []


def test_zero_padded_member_numbers_are_a_numbered_series_even_when_few():
    assert run(recipients.similar_addresses, context([row["メールアドレス"] for row in members(2)])) == []


def test_addresses_far_apart_or_at_different_domains_are_not_similar():
    ctx = context(["tanaka.taro@example.jp", "tanaka.taro@other-corp.co.jp", "suzuki.hanako@example.jp"])
    assert run(recipients.similar_addresses, ctx) == []


def test_the_same_local_part_at_a_lookalike_domain_is_similar():
    finding = only(recipients.similar_addresses, context(["taro@example.co.jp", "taro@example.co.jpp"]))
    assert finding.rows == (2, 3)


def test_duplicates_are_not_reported_again_as_similar():
    assert run(recipients.similar_addresses, context(["tanaka.taro@example.jp", "Tanaka.Taro@example.jp"])) == []


def test_the_message_names_ten_pairs_and_the_finding_all_their_rows():
    addresses = [f"{name}.tanaka@example.jp" for name in ("taro", "jiro", "kenta", "hanako", "yumiko", "akira",
                                                           "shigeru", "makoto", "naoki", "keiko", "tomoko", "yasushi")]
    addresses += [address.replace("tanaka", "tanaak") for address in addresses]
    finding = only(recipients.similar_addresses, context(addresses))
    assert "12 pairs" in finding.message and finding.message.count("↔") == 10
    assert len(finding.rows) == 24


def test_a_similar_pair_is_found_among_20000_rows_without_comparing_every_pair(monkeypatch):
    rnd = random.Random(13)
    addresses = {"".join(rnd.choices(string.ascii_lowercase, k=12)) + "@example.jp" for _ in range(20_000)}
    addresses = sorted(addresses)
    addresses[7_000] = "whistle.blower@example.jp"
    addresses[15_000] = "whistle.blowr@example.jp"
    compared = []
    distance = recipients.edit_distance
    monkeypatch.setattr(recipients, "edit_distance", lambda a, b, limit=2: compared.append(1) or distance(a, b, limit))
    finding = only(recipients.similar_addresses, context(addresses))
    assert finding.rows == (7_002, 15_002)
    assert len(compared) < 1_000  # 20,000 rows would be 200 million comparisons pair by pair


# --- domain_typos -------------------------------------------------------------------------


@pytest.mark.parametrize(("typo", "meant"), [
    ("gmial.com", "gmail.com"), ("gmai.com", "gmail.com"), ("gmail.co", "gmail.com"), ("gmail.cm", "gmail.com"),
    ("yahoo.co.jpp", "yahoo.co.jp"), ("yahoo.co.j", "yahoo.co.jp"), ("yahooo.co.jp", "yahoo.co.jp"),
    ("yahoo.cojp", "yahoo.co.jp"), ("docomo.ne.j", "docomo.ne.jp"), ("docomo.ne.jpp", "docomo.ne.jp"),
    ("ezweb.ne.j", "ezweb.ne.jp"), ("softbank.ne.j", "softbank.ne.jp"), ("i.softbank.j", "i.softbank.jp"),
    ("hotmial.com", "hotmail.com"), ("outlok.com", "outlook.com"), ("outlook.co", "outlook.com"),
    ("icloud.co", "icloud.com"), ("au.co", "au.com"), ("biglobe.ne.jo", "biglobe.ne.jp"),
    ("docomo.ne.jo", "docomo.ne.jp"),
])
def test_a_mistyped_provider_domain_is_blocked_with_the_correction(typo, meant):
    finding = only(recipients.domain_typos, context(["ok@gmail.com", f"taro@{typo}"]))
    assert finding.severity == Severity.BLOCK
    assert finding.rows == (3,)
    assert f"row 3: {typo} — did you mean {meant}?" in finding.message


def test_yahoo_co_jpp_rows_are_listed_with_the_suggested_correction():
    ctx = context(["a@yahoo.co.jp", "taro@yahoo.co.jpp", "b@yahoo.co.jp", "hanako@yahoo.co.jpp"])
    finding = only(recipients.domain_typos, ctx)
    assert finding.rows == (3, 5)
    assert "rows 3, 5: yahoo.co.jpp — did you mean yahoo.co.jp?" in finding.message
    assert "Correct the addresses" in finding.message


@pytest.mark.parametrize("domain", [
    "gmail.com", "yahoo.co.jp", "i.softbank.jp", "mail.com", "email.com", "ymail.com", "yahoo.com", "yahoo.co.uk",
    "outlook.fr", "outlook.de", "hotmail.co.uk", "softbank.co.jp", "softbank.jp", "ocn.ad.jp", "nifty.co.jp",
    "biglobe.co.jp", "ai.com", "abc.ne.jp", "example.co.jp", "city.example.lg.jp", "aol.com", "me.com",
])
def test_real_domains_near_a_provider_are_not_typos(domain):
    assert run(recipients.domain_typos, context([f"taro@{domain}"])) == []


@pytest.mark.parametrize(("typo", "meant"), [
    ("city.example.lg.j", "city.example.lg.jp"), ("example.co.jpp", "example.co.jp"), ("example.c", "example.com"),
    ("example.con", "example.com"), ("example.nejp", "example.ne.jp"),
])
def test_a_truncated_or_impossible_ending_is_blocked_for_any_domain(typo, meant):
    finding = only(recipients.domain_typos, context([f"taro@{typo}"]))
    assert f"{typo} — did you mean {meant}?" in finding.message


def test_an_internal_domain_is_never_reported_as_a_typo():
    assert run(recipients.domain_typos, context(["taro@gmial.com"], internal={"gmial.com"})) == []


def test_a_lookalike_domain_allowed_in_the_settings_is_not_a_typo(settings):
    settings.MAILGUARD = {**settings.MAILGUARD, "LOOKALIKE_DOMAINS_ALLOWED": ["gmai.com"]}
    assert run(recipients.domain_typos, context(["taro@gmai.com"])) == []


# --- role_addresses -----------------------------------------------------------------------


def test_shared_and_list_addresses_need_acknowledgement():
    ctx = context(["info@example.jp", "taro@example.jp", "no-reply@example.jp", "ALL+tokyo@example.jp",
                   "jimukyoku@example.jp"])
    finding = only(recipients.role_addresses, ctx)
    assert finding.severity == Severity.ACKNOWLEDGE
    assert finding.rows == (2, 4, 5, 6)
    assert "info@example.jp" in finding.message


def test_personal_addresses_that_contain_a_role_word_are_not_role_addresses():
    assert run(recipients.role_addresses, context(["info.taro@example.jp", "taro.sales@example.jp"])) == []


# --- suppressed_addresses -----------------------------------------------------------------


def test_suppressed_addresses_are_blocked_with_their_reason():
    ctx = context(["a@example.jp", "bounce@example.jp", "gone@example.jp", "ok@example.jp"],
                  suppressed={"bounce@example.jp": "bounced", "gone@example.jp": "unsubscribed"})
    findings = run(recipients.suppressed_addresses, ctx)
    assert [(f.severity, f.rows) for f in findings] == [(Severity.BLOCK, (3,)), (Severity.BLOCK, (4,))]
    assert "Hard bounce" in findings[0].message and "Unsubscribed" in findings[1].message
    assert "Remove it from the list" in findings[0].message


def test_suppression_matches_whatever_the_case_or_gmail_spelling():
    ctx = context(["Bounce@Example.JP", "t.yamada+x@gmail.com"],
                  suppressed={"bounce@example.jp": "bounced", "tyamada@gmail.com": "bounced"})
    assert only(recipients.suppressed_addresses, ctx).rows == (2, 3)


# --- internal_external_split --------------------------------------------------------------


def test_internal_and_external_addresses_are_counted_with_the_top_outside_domains():
    ctx = context(["a@city.example.jp", "b@city.example.jp", "c@gmail.com", "d@gmail.com", "e@yahoo.co.jp"],
                  internal={"city.example.jp"})
    finding = only(recipients.internal_external_split, ctx)
    assert finding.severity == Severity.INFO
    assert "inside your organisation: 2; outside: 3, at 2 domains" in finding.message
    assert "gmail.com (2), yahoo.co.jp (1)" in finding.message


# --- missing_values -----------------------------------------------------------------------


def test_rows_missing_a_merge_field_value_are_blocked_per_column():
    ctx = context(["a@example.jp", "b@example.jp", "c@example.jp"], names=["山田", "", "佐藤"],
                  data={3: {"会員番号": ""}, 4: {"会員番号": " "}})
    findings = run(recipients.missing_values, ctx)
    assert [(f.severity, f.rows) for f in findings] == [(Severity.BLOCK, (3,)), (Severity.BLOCK, (3, 4))]
    assert "“氏名”" in findings[0].message and "“会員番号”" in findings[1].message


def test_an_empty_display_name_is_blocked_when_a_name_column_is_chosen():
    ctx = context(["a@example.jp", "b@example.jp"], names=["山田", ""], subject="お知らせ", body="本文")
    finding = only(recipients.missing_values, ctx)
    assert finding.rows == (3,)
    assert "choose no display-name column" in finding.message


def test_empty_cells_in_columns_the_message_does_not_use_are_fine():
    ctx = context(["a@example.jp", "b@example.jp"], names=["", ""], name_column="", subject="お知らせ", body="本文",
                  data={2: {"会員番号": ""}})
    assert run(recipients.missing_values, ctx) == []


# --- unused_columns -----------------------------------------------------------------------


def test_columns_no_merge_field_uses_are_reported_for_data_minimisation():
    finding = only(recipients.unused_columns, context(["a@example.jp"]))
    assert finding.severity == Severity.INFO
    assert "“備考”" in finding.message and "“会員番号”" not in finding.message
    assert "personal data" in finding.message
