"""Recipient-list guards: one valid, intended, mailable address per row (incidents 10, 13 and 14).

The contexts are built by hand from unsaved campaigns: no database is needed.
"""

import random
import string

import pytest
from django.utils import translation
from email_validator import EmailNotValidError, validate_email

from approvals.guards import addresses, columns, domains, similar
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
    assert only(addresses.list_is_present, ctx).severity == Severity.BLOCK


def test_a_list_over_the_recipient_limit_is_blocked_with_the_limit(settings):
    settings.MAILGUARD = {**settings.MAILGUARD, "MAX_RECIPIENTS": 3}
    finding = only(addresses.list_size, context([f"m{i}@example.jp" for i in range(4)]))
    assert finding.severity == Severity.BLOCK
    assert "4 rows" in finding.message and "at most 3" in finding.message


def test_a_list_at_the_recipient_limit_passes(settings):
    settings.MAILGUARD = {**settings.MAILGUARD, "MAX_RECIPIENTS": 3}
    assert run(addresses.list_size, context([f"m{i}@example.jp" for i in range(3)])) == []


# --- addresses_are_valid ------------------------------------------------------------------


def test_a_full_width_address_is_kept_as_typed_valid_and_shown_as_normalised_for_sending():
    data = csv_bytes([{"氏名": "山田 太郎", "メールアドレス": "ｔａｒｏ．ｙａｍａｄａ＠ｅｘａｍｐｌｅ．ｊｐ "}])
    table = read_recipient_list("list.csv", data, max_bytes=10_000, max_rows=10)
    typed = table.rows[0]["メールアドレス"]
    assert typed == "ｔａｒｏ．ｙａｍａｄａ＠ｅｘａｍｐｌｅ．ｊｐ "
    ctx = context([typed])
    assert ctx.rows[0].address == "taro.yamada@example.jp"
    assert run(addresses.addresses_are_valid, ctx) == []
    note = only(addresses.addresses_sent_as_typed, ctx)
    assert (note.severity, note.rows) == (Severity.INFO, (2,))
    assert "taro.yamada@example.jp" in note.message and "row 2" in note.message


def test_an_address_typed_in_ascii_gives_no_note():
    assert run(addresses.addresses_sent_as_typed, context(["taro@example.jp"])) == []


@pytest.mark.parametrize("address", ["taro@例え.jp", "taro@xn--r8jz45g.jp", "山田@例え.jp", "taro@日本語.テスト.jp"])
def test_an_internationalised_domain_is_valid(address):
    assert run(addresses.addresses_are_valid, context([address])) == []


def test_invalid_addresses_are_blocked_naming_their_rows():
    ctx = context(["ok@example.jp", "taro@@example.jp", "hanako@example", "ok2@example.jp", "ichiro example@x.jp"])
    finding = only(addresses.addresses_are_valid, ctx)
    assert finding.severity == Severity.BLOCK
    assert finding.rows == (3, 4, 6)
    assert "row 3: taro@@example.jp" in finding.message and "upload it again" in finding.message
    assert [item[0] for item in finding.items] == [3, 4, 6]


def test_an_empty_address_is_left_to_the_missing_value_check():
    ctx = context(["ok@example.jp", ""])
    assert run(addresses.addresses_are_valid, ctx) == []
    assert only(columns.missing_values, ctx).rows == (3,)


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
    assert addresses.is_valid_address(address) is expected


# --- addresses_are_unique -----------------------------------------------------------------


def test_one_family_sharing_an_address_is_acknowledged_not_blocked():
    ctx = context(["sato.family@example.jp", "sato.family@example.jp"], names=["佐藤 太郎", "佐藤 花子"])
    finding = only(addresses.addresses_are_unique, ctx)
    assert (finding.code, finding.severity, finding.rows) == ("list.shared_address", Severity.ACKNOWLEDGE, (2, 3))


def test_the_same_address_in_two_rows_is_blocked_naming_both_rows():
    ctx = context(["taro@example.jp", "hanako@example.jp", "Taro@Example.JP", "ichiro@example.jp"],
                  names=["山田 太郎", "山田 花子", "山田 太郎", "鈴木 一郎"])
    finding = only(addresses.addresses_are_unique, ctx)
    assert (finding.code, finding.severity) == ("list.duplicate_address", Severity.BLOCK)
    assert finding.rows == (2, 4)
    assert "rows 2, 4" in finding.message and "twice" in finding.message


def test_gmail_dot_and_plus_variants_are_the_same_mailbox():
    ctx = context(["taro.yamada@gmail.com", "hanako@gmail.com", "taroyamada+news@googlemail.com"])
    finding = only(addresses.addresses_are_unique, ctx)
    assert (finding.code, finding.severity) == ("list.duplicate_mailbox", Severity.BLOCK)
    assert finding.rows == (2, 4)
    assert "taro.yamada@gmail.com = taroyamada+news@googlemail.com" in finding.message


def test_dots_and_plus_tags_make_different_addresses_outside_gmail():
    ctx = context(["taro.yamada@example.jp", "taroyamada@example.jp", "taro+news@example.jp", "taro@example.jp"])
    assert run(addresses.addresses_are_unique, ctx) == []


def test_a_punycode_and_a_unicode_domain_are_one_address():
    finding = only(addresses.addresses_are_unique, context(["taro@例え.jp", "taro@xn--r8jz45g.jp"]))
    assert finding.code == "list.duplicate_address"
    assert finding.rows == (2, 3)


# --- similar_addresses --------------------------------------------------------------------

NO_NAMES = dict(name_column="", subject="お知らせ", body="本文")


def unnamed(addresses_):
    return context(addresses_, names=[""] * len(addresses_), **NO_NAMES)


def test_near_identical_addresses_without_names_are_flagged_when_the_difference_is_a_typo():
    ctx = unnamed(["tanaka.taro@example.jp", "suzuki.hanako@example.jp", "tanaka.tar0@example.jp"])
    finding = only(similar.similar_addresses, ctx)
    assert finding.severity == Severity.ACKNOWLEDGE
    assert finding.rows == (2, 4)
    assert "row 2 tanaka.taro@example.jp ↔ row 4 tanaka.tar0@example.jp" in finding.message


@pytest.mark.parametrize("other", [
    "tanaak.taro@example.jp",  # two neighbours swapped
    "tanaka.tarro@example.jp",  # a letter doubled
    "tanaka.tar0@example.jp",  # a zero for an o
])
def test_typo_shaped_differences_are_similar_without_names(other):
    finding = only(similar.similar_addresses, unnamed(["tanaka.taro@example.jp", other]))
    assert finding.rows == (2, 3)


SAME_PHONE = {2: {"備考": "090-1234-5678"}, 3: {"備考": "090-1234-5678"}}


def test_the_same_name_and_phone_on_two_near_addresses_is_one_person_twice():
    ctx = context(["tanaka.taro@example.jp", "tanaka.tarou@example.jp"], names=["田中 太郎", "田中 太郎"],
                  data=SAME_PHONE)
    finding = only(similar.similar_addresses, ctx)
    assert finding.items[0][4] == "same_name"
    assert "the same name on both rows" in finding.message


def test_two_people_who_share_a_name_and_nothing_else_are_not_flagged():
    ctx = context(["goto.megumi@example.jp", "goto.megumi4@example.jp"], names=["後藤 恵", "後藤 恵"],
                  data={2: {"備考": "090-1111-2222"}, 3: {"備考": "080-3333-4444"}})
    assert run(similar.similar_addresses, ctx) == []


def test_a_name_written_in_kana_and_in_kanji_is_the_same_name():
    ctx = context(["k.yamada1975@example.ne.jp", "k.yamada1976@example.ne.jp"], names=["山田 和夫", "ヤマダ カズオ"],
                  data=SAME_PHONE)
    assert only(similar.similar_addresses, ctx).rows == (2, 3)


def test_differently_named_people_at_near_addresses_are_not_flagged():
    ctx = context(["m-takahashi@example.jp", "i-takahashi@example.jp", "sato12@example.jp", "sato13@example.jp"],
                  names=["高橋 誠", "高橋 一郎", "佐藤 花子", "佐藤 次郎"])
    assert run(similar.similar_addresses, ctx) == []


def test_an_address_carrying_the_other_rows_name_is_flagged():
    ctx = context(["taro.yamada@example.jp", "taro.yamado@example.jp"], names=["山田 太郎", "鈴木 花子"])
    finding = only(similar.similar_addresses, ctx)
    assert finding.items[0][4] == "crossed_name"


def test_a_new_address_next_to_one_mailed_before_is_flagged():
    from approvals.guards.context import Sent

    ctx = unnamed(["k.yamada1975@example.ne.jp", "k.yamada1976@example.ne.jp"])
    assert run(similar.similar_addresses, ctx) == []
    ctx.history = {"k.yamada1975@example.ne.jp": Sent("")}
    finding = only(similar.similar_addresses, ctx)
    assert finding.items[0][4] == "new_twin"


def test_two_given_names_of_one_family_are_not_similar():
    assert run(similar.similar_addresses, unnamed(["tanaka.taro@example.jp", "tanaka.jiro@example.jp"])) == []


def test_romanisation_variants_of_one_name_are_similar():
    ctx = unnamed(["satou.yuuki@example.jp", "sato.yuki@example.jp", "shinbashi@example.jp", "sinbasi@example.jp"])
    finding = only(similar.similar_addresses, ctx)
    assert finding.rows == (2, 3, 4, 5)
    assert "2 pairs" in finding.message


def test_short_local_parts_are_not_compared():
    assert run(similar.similar_addresses, unnamed(["ken@example.jp", "ben@example.jp", "kan@example.jp"])) == []


def test_a_numbered_series_is_not_a_set_of_similar_addresses():
    assert run(similar.similar_addresses, context([row["メールアドレス"] for row in members(300)])) == []
    assert run(similar.similar_addresses, unnamed([f"s21{n:05d}@u.example.ac.jp" for n in range(5)])) == []
    assert run(similar.similar_addresses, unnamed(["sato12@example.jp", "sato13@example.jp"])) == []


def test_addresses_far_apart_or_at_different_domains_are_not_similar():
    ctx = unnamed(["tanaka.taro@example.jp", "tanaka.taro@other-corp.co.jp", "suzuki.hanako@example.jp"])
    assert run(similar.similar_addresses, ctx) == []


def test_duplicates_are_not_reported_again_as_similar():
    assert run(similar.similar_addresses, unnamed(["tanaka.taro@example.jp", "Tanaka.Taro@example.jp"])) == []


def test_the_message_quotes_three_pairs_and_the_finding_keeps_every_pair():
    addresses_ = [f"{name}.tanaka@example.jp" for name in ("taro", "jiro", "kenta", "hanako", "yumiko", "akira",
                                                            "shigeru", "makoto", "naoki", "keiko", "tomoko", "yasushi")]
    addresses_ += [address.replace("tanaka", "tanaak") for address in addresses_]
    finding = only(similar.similar_addresses, unnamed(addresses_))
    assert "12 pairs" in finding.message and finding.message.count("↔") == 3
    assert len(finding.rows) == 24 and len(finding.items) == 12


def test_a_similar_pair_is_found_among_20000_rows_without_comparing_every_pair(monkeypatch):
    rnd = random.Random(13)
    addresses_ = {"".join(rnd.choices(string.ascii_lowercase, k=12)) + "@example.jp" for _ in range(20_000)}
    addresses_ = sorted(addresses_)
    addresses_[7_000] = "whistle.blower@example.jp"
    addresses_[15_000] = "whistle.bolwer@example.jp"
    compared = []
    measure = similar.edit_distance
    monkeypatch.setattr(similar, "edit_distance", lambda a, b, limit=2: compared.append(1) or measure(a, b, limit))
    finding = only(similar.similar_addresses, unnamed(addresses_))
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
    finding = only(domains.domain_typos, context(["ok@gmail.com", f"taro@{typo}"]))
    assert finding.severity == Severity.BLOCK
    assert finding.rows == (3,)
    assert f"row 3: {typo} — did you mean {meant}?" in finding.message


def test_yahoo_co_jpp_rows_are_listed_with_the_suggested_correction():
    ctx = context(["a@yahoo.co.jp", "taro@yahoo.co.jpp", "b@yahoo.co.jp", "hanako@yahoo.co.jpp"])
    finding = only(domains.domain_typos, ctx)
    assert finding.rows == (3, 5)
    assert "rows 3, 5: yahoo.co.jpp — did you mean yahoo.co.jp?" in finding.message
    assert "Correct the addresses" in finding.message


@pytest.mark.parametrize("domain", [
    "gmail.com", "yahoo.co.jp", "i.softbank.jp", "mail.com", "email.com", "ymail.com", "yahoo.com", "yahoo.co.uk",
    "outlook.fr", "outlook.de", "hotmail.co.uk", "softbank.co.jp", "softbank.jp", "ocn.ad.jp", "nifty.co.jp",
    "biglobe.co.jp", "ai.com", "abc.ne.jp", "example.co.jp", "city.example.lg.jp", "aol.com", "me.com",
])
def test_real_domains_near_a_provider_are_not_typos(domain):
    assert run(domains.domain_typos, context([f"taro@{domain}"])) == []


@pytest.mark.parametrize(("typo", "meant"), [
    ("city.example.lg.j", "city.example.lg.jp"), ("example.co.jpp", "example.co.jp"), ("example.c", "example.com"),
    ("example.con", "example.com"), ("example.nejp", "example.ne.jp"),
])
def test_a_truncated_or_impossible_ending_is_blocked_for_any_domain(typo, meant):
    finding = only(domains.domain_typos, context([f"taro@{typo}"]))
    assert f"{typo} — did you mean {meant}?" in finding.message


def test_an_internal_domain_is_never_reported_as_a_typo():
    assert run(domains.domain_typos, context(["taro@gmial.com"], internal={"gmial.com"})) == []


def test_a_lookalike_domain_allowed_in_the_settings_is_not_a_typo(settings):
    settings.MAILGUARD = {**settings.MAILGUARD, "LOOKALIKE_DOMAINS_ALLOWED": ["gmai.com"]}
    assert run(domains.domain_typos, context(["taro@gmai.com"])) == []


# --- lookalike_domains --------------------------------------------------------------------


def majority(domain: str, count: int = 40) -> list[str]:
    return [f"member{i}@{domain}" for i in range(count)]


@pytest.mark.parametrize(("lookalike", "meant"), [
    ("exarnple.jp", "example.jp"),  # rn for m
    ("examp1e.jp", "example.jp"),  # 1 for l
    ("examples.org", None),  # not a confusion: another domain
    ("exampie.jp", "example.jp"),  # i for l
    ("example.jo", "example.jp"),  # a slipped ending
    ("exmaple.jp", "example.jp"),  # one keystroke
])
def test_a_rare_domain_one_confusion_from_the_lists_frequent_domain_is_blocked(lookalike, meant):
    ctx = context([*majority("example.jp"), f"taro@{lookalike}"], names=[""] * 41, **NO_NAMES)
    findings = run(domains.lookalike_domains, ctx)
    if meant is None:
        assert findings == []
        return
    finding, = findings
    assert (finding.severity, finding.rows) == (Severity.BLOCK, (42,))
    assert finding.items[0][1:3] == (lookalike, meant)


@pytest.mark.parametrize("lookalike", [
    "city.yokohama.1g.jp", "city.yokoharna.lg.jp", "city-yokohama.lg.jp", "city.yokohama.lg.ip",
    "city.yokohama.ig.jp", "clty.yokohama.lg.jp", "city.yokohama.lg.jpp",
])
def test_confusable_spellings_of_a_municipalitys_own_lg_jp_domain_are_blocked(lookalike):
    ctx = context([*majority("city.yokohama.lg.jp"), f"kacho@{lookalike}"], names=[""] * 41, **NO_NAMES)
    # An ending that exists nowhere is a typo of any domain; the others are look-alikes of this one.
    finding, = run(domains.lookalike_domains, ctx) + run(domains.domain_typos, ctx)
    assert (finding.severity, finding.rows) == (Severity.BLOCK, (42,))


def test_lookalikes_of_carrier_and_sender_domains_are_blocked_even_when_the_list_is_small():
    ctx = context(["taro@docorno.ne.jp", "hanako@city-example.lg.jp"], names=["", ""], **NO_NAMES)
    ctx.sender_domains = {"city.example.lg.jp"}
    finding = only(domains.lookalike_domains, ctx)
    assert {item[2] for item in finding.items} == {"docomo.ne.jp", "city.example.lg.jp"}


def test_a_domain_mail_was_delivered_to_before_is_a_reference_too():
    ctx = context(["taro@rnitsubachi.co.jp"], names=[""], **NO_NAMES)
    assert run(domains.lookalike_domains, ctx) == []
    ctx.delivered_domains = {"mitsubachi.co.jp"}
    assert only(domains.lookalike_domains, ctx).items[0][2] == "mitsubachi.co.jp"


def test_real_different_domains_in_a_clean_list_are_not_lookalikes():
    clean = [*majority("example.jp"), *majority("docomo.ne.jp", 20), "a@example.co.jp", "b@example.ne.jp",
             "c@sample.jp", "d@examples.com", "e@ezweb.ne.jp", "f@au.com", "g@city.yokohama.lg.jp",
             "h@pref.kanagawa.lg.jp", "i@tokyo-u.ac.jp", "j@mext.go.jp", "k@nifty.com", "l@ybb.ne.jp"]
    assert run(domains.lookalike_domains, context(clean, names=[""] * len(clean), **NO_NAMES)) == []


def test_an_allowed_or_internal_lookalike_is_not_blocked(settings):
    settings.MAILGUARD = {**settings.MAILGUARD, "LOOKALIKE_DOMAINS_ALLOWED": ["exarnple.jp"]}
    ctx = context([*majority("example.jp"), "taro@exarnple.jp"], names=[""] * 41, **NO_NAMES)
    assert run(domains.lookalike_domains, ctx) == []


# --- role_addresses -----------------------------------------------------------------------


def test_shared_and_list_addresses_need_acknowledgement():
    ctx = context(["info@example.jp", "taro@example.jp", "no-reply@example.jp", "ALL+tokyo@example.jp",
                   "jimukyoku@example.jp"])
    finding = only(addresses.role_addresses, ctx)
    assert finding.severity == Severity.ACKNOWLEDGE
    assert finding.rows == (2, 4, 5, 6)
    assert "info@example.jp" in finding.message


def test_personal_addresses_that_contain_a_role_word_are_not_role_addresses():
    assert run(addresses.role_addresses, context(["info.taro@example.jp", "taro.sales@example.jp"])) == []


# --- suppressed_addresses -----------------------------------------------------------------


def test_suppressed_addresses_are_blocked_with_their_reason():
    ctx = context(["a@example.jp", "bounce@example.jp", "gone@example.jp", "ok@example.jp"],
                  suppressed={"bounce@example.jp": "bounced", "gone@example.jp": "unsubscribed"})
    findings = run(addresses.suppressed_addresses, ctx)
    assert [(f.severity, f.rows) for f in findings] == [(Severity.BLOCK, (3,)), (Severity.BLOCK, (4,))]
    assert "Hard bounce" in findings[0].message and "Unsubscribed" in findings[1].message
    assert "Remove it from the list" in findings[0].message


def test_suppression_matches_whatever_the_case_or_gmail_spelling():
    ctx = context(["Bounce@Example.JP", "t.yamada+x@gmail.com"],
                  suppressed={"bounce@example.jp": "bounced", "tyamada@gmail.com": "bounced"})
    assert only(addresses.suppressed_addresses, ctx).rows == (2, 3)


# --- internal_external_split --------------------------------------------------------------


def test_internal_and_external_addresses_are_counted_with_the_top_outside_domains():
    ctx = context(["a@city.example.jp", "b@city.example.jp", "c@gmail.com", "d@gmail.com", "e@yahoo.co.jp"],
                  internal={"city.example.jp"})
    finding = only(addresses.internal_external_split, ctx)
    assert finding.severity == Severity.INFO
    assert "inside your organisation: 2; outside: 3, at 2 domains" in finding.message
    assert "gmail.com (2), yahoo.co.jp (1)" in finding.message


# --- missing_values -----------------------------------------------------------------------


def test_rows_missing_a_merge_field_value_are_blocked_per_column():
    ctx = context(["a@example.jp", "b@example.jp", "c@example.jp"], names=["山田", "", "佐藤"],
                  data={3: {"会員番号": ""}, 4: {"会員番号": " "}})
    findings = run(columns.missing_values, ctx)
    assert [(f.severity, f.rows) for f in findings] == [(Severity.BLOCK, (3,)), (Severity.BLOCK, (3, 4))]
    assert "“氏名”" in findings[0].message and "“会員番号”" in findings[1].message


def test_an_empty_display_name_is_blocked_when_a_name_column_is_chosen():
    ctx = context(["a@example.jp", "b@example.jp"], names=["山田", ""], subject="お知らせ", body="本文")
    finding = only(columns.missing_values, ctx)
    assert finding.rows == (3,)
    assert "choose no display-name column" in finding.message


def test_empty_cells_in_columns_the_message_does_not_use_are_fine():
    ctx = context(["a@example.jp", "b@example.jp"], names=["", ""], name_column="", subject="お知らせ", body="本文",
                  data={2: {"会員番号": ""}})
    assert run(columns.missing_values, ctx) == []


# --- unused_columns -----------------------------------------------------------------------


def test_columns_no_merge_field_uses_are_reported_for_data_minimisation():
    finding = only(columns.unused_columns, context(["a@example.jp"]))
    assert finding.severity == Severity.INFO
    assert "“備考”" in finding.message and "“会員番号”" not in finding.message
    assert "personal data" in finding.message
