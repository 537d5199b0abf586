"""Names that no longer belong to their addresses (incident 10: a hand-built list drifted).

The shift check runs on hand-built contexts; the name-history check needs earlier
campaigns that were really sent, built through the workflow.
"""

import datetime

import pytest
from django.utils import timezone, translation

from approvals.guards import context as context_module
from approvals.guards import names, romaji
from approvals.guards.context import PreflightContext, Row
from approvals.guards.findings import Severity
from approvals.models import Campaign, Delivery
from tests.factories import approved_campaign, members


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def context(pairs: list[tuple[str, str]], campaign: Campaign | None = None) -> PreflightContext:
    """(display name, address) per row; the first pair is row 2, as Excel numbers it."""
    campaign = campaign or Campaign(name="会報", columns=["氏名", "メールアドレス"], address_column="メールアドレス",
                                    name_column="氏名", subject="{{氏名}} 様", body_text="{{氏名}} 様")
    rows = [Row(number, email, name, {"氏名": name, "メールアドレス": email})
            for number, (name, email) in enumerate(pairs, start=2)]
    return PreflightContext(campaign=campaign, rows=rows, internal_domains=set(), suppressed={})


def shift_findings(pairs):
    return list(names.names_shifted_against_addresses(context(pairs)))


NEWCOMER = "新入 会員"  # a name typed in where the shift ends; it matches no address


def shifted_names(pairs, start: int, stop: int) -> list[tuple[str, str]]:
    """The names of rows start..stop-1 (list indexes) moved up one row; the addresses stay.

    The name at start is lost and another one typed in at stop, the way a list
    drifts when a cell is deleted in the name column and a new member added later.
    """
    moved = [name for name, _email in pairs]
    moved[start:stop] = moved[start + 1:stop + 1]
    if stop < len(moved):
        moved[stop] = NEWCOMER
    return [(name, email) for name, (_old, email) in zip(moved, pairs, strict=True)]


# A correct list the way Japanese offices write it: kanji, kana and Latin names, with
# and without a space, addresses in every common romanisation.
CORRECT = [
    ("佐藤 太郎", "taro.sato@example.jp"),
    ("伊藤 花子", "hanako.itou@example.jp"),
    ("鈴木 一郎", "ichiro-suzuki@example.co.jp"),
    ("大野 翔", "sho.ohno@example.jp"),
    ("髙橋 美咲", "misaki.takahashi@example.jp"),
    ("山﨑 誠", "m-yamazaki@example.jp"),
    ("渡邊 さくら", "watanabe_sakura@example.jp"),
    ("中島みゆき", "miyuki.nakajima@example.jp"),
    ("タナカ ジュン", "jun.tanaka@example.jp"),
    ("Kenta YAMADA", "yamada.kenta@example.jp"),
    ("本間 純一", "junichi.homma@example.jp"),
    ("新橋 ちひろ", "tihiro.simbasi@example.jp"),
    ("加藤 健太 様", "kato-kenta@example.jp"),
    ("小林 裕子", "yuko.kobayashi@example.jp"),
    ("井上 誠", "inoue@example.jp"),
    ("斎藤 大輔", "daisuke.saitoh@example.jp"),
    ("長谷川 修", "o.hasegawa@example.jp"),
    ("松本 直樹", "naoki.matsumoto@example.jp"),
    ("清水 恵", "megumi.shimizu@example.jp"),
    ("藤田 洋子", "yoko.fujita@example.jp"),
]


def test_a_correct_list_with_kanji_names_and_hepburn_addresses_gives_no_shift_finding():
    assert shift_findings(CORRECT) == []


def test_the_same_list_shifted_by_one_is_recognised_row_by_row():
    # The names above are all recognised: shifted, nearly every row is reported.
    finding, = shift_findings(shifted_names(CORRECT, 0, 19))
    assert finding.severity == Severity.BLOCK
    assert len(finding.rows) >= 17


def people(count: int) -> list[tuple[str, str]]:
    """A correct list in which no two neighbouring rows share a family or given name."""
    family = [("山田", "yamada"), ("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"), ("田中", "tanaka"),
              ("伊藤", "ito"), ("渡辺", "watanabe"), ("中村", "nakamura"), ("小林", "kobayashi"), ("加藤", "kato"),
              ("吉田", "yoshida")]
    given = [("太郎", "taro"), ("花子", "hanako"), ("一郎", "ichiro"), ("美咲", "misaki"), ("健太", "kenta"),
             ("さくら", "sakura"), ("翔太", "shota")]
    return [(f"{family[i % 11][0]} {given[i % 7][0]}", f"{given[i % 7][1]}.{family[i % 11][1]}{i}@example.jp")
            for i in range(count)]


def test_names_shifted_by_one_row_are_reported_with_the_range_of_rows():
    pairs = shifted_names(people(30), 10, 20)  # a name deleted at list row 12, the ten below moved up
    finding, = shift_findings(pairs)
    assert finding.severity == Severity.ACKNOWLEDGE
    assert finding.rows == tuple(range(12, 22))
    assert "rows 12–21 (each name matches the address one row below)" in finding.message
    assert "In 10 of the 29 rows" in finding.message  # the newcomer's row carries no name we can place


def test_the_row_where_a_drifted_name_is_doubled_counts_as_shifted():
    pairs = people(30)
    moved = [name for name, _email in pairs]
    moved[10:20] = moved[11:21]  # list row 22 keeps its name, so rows 21 and 22 carry the same one
    finding, = shift_findings([(name, email) for name, (_old, email) in zip(moved, pairs, strict=True)])
    assert finding.rows == tuple(range(12, 22))


def test_two_people_with_the_same_name_next_to_each_other_are_not_shifted():
    pairs = people(10)
    pairs[4] = (pairs[3][0], pairs[3][1].replace("@", "b@"))
    assert shift_findings(pairs) == []


def test_names_shifted_down_are_reported_too():
    pairs = people(30)
    moved = [name for name, _email in pairs]
    moved[6:11] = moved[5:10]  # a name inserted at list row 7, the five below moved down
    moved[5] = NEWCOMER
    finding, = shift_findings([(name, email) for name, (_old, email) in zip(moved, pairs, strict=True)])
    assert finding.rows == tuple(range(8, 13))
    assert "each name matches the address one row above" in finding.message


def test_a_mostly_shifted_list_is_blocked():
    finding, = shift_findings(shifted_names(people(30), 0, 25))
    assert finding.severity == Severity.BLOCK
    assert "rows 2–26" in finding.message


def test_two_swapped_rows_are_reported():
    pairs = people(20)
    pairs[5], pairs[6] = (pairs[6][0], pairs[5][1]), (pairs[5][0], pairs[6][1])
    finding, = shift_findings(pairs)
    assert finding.rows == (7, 8)
    assert "names match the addresses of other rows" in finding.message


def test_addresses_that_carry_no_name_never_count_as_shifted():
    rows = [(row["氏名"], row["メールアドレス"]) for row in members(200)]
    assert shift_findings(rows) == []
    assert shift_findings(shifted_names(rows, 0, 150)) == []


def test_rows_without_a_name_in_the_address_do_not_interrupt_a_shifted_run():
    pairs = people(30)
    for index in (13, 16):
        pairs[index] = (pairs[index][0], f"member{index:05d}@example.jp")
    finding, = shift_findings(shifted_names(pairs, 10, 20))
    assert "rows 12–21" in finding.message
    # Rows 14 and 17 carry the names whose addresses were replaced: they say nothing either way,
    # and lie inside the drift, so they are named with it.
    assert finding.rows == tuple(range(12, 22))
    assert finding.params["shifted"] == 8


def test_a_family_name_shared_with_the_next_row_is_no_evidence_of_a_shift():
    pairs = [("佐藤 太郎", "sato.t@example.jp"), ("佐藤 花子", "sato.h@example.jp"), ("佐藤 一郎", "sato.i@example.jp"),
             ("佐藤 美咲", "sato.m@example.jp")]
    rotated = [(name, email) for (name, _old), (_name, email) in zip(pairs[1:] + pairs[:1], pairs, strict=True)]
    assert shift_findings(pairs) == []
    assert shift_findings(rotated) == []


def test_a_given_name_inside_a_longer_given_name_is_no_evidence():
    # 由美 (yumi) appears inside the next row's mayumi: that address is still 中村 真由美's.
    pairs = [("田中 由美", "tanaka.y@example.jp"), ("中村 真由美", "mayumi.nakamura@example.jp")]
    assert shift_findings(pairs) == []


def test_romanisation_variants_are_folded_to_one_spelling():
    fold = romaji.fold_romaji
    assert fold("satou") == fold("satoh") == fold("sato")
    assert fold("ohno") == fold("oono") == fold("ono")
    assert fold("shinbashi") == fold("simbasi")
    assert fold("chihiro") == fold("tihiro")
    assert fold("tsuyoshi") == fold("tuyosi")
    assert fold("jun") == fold("zyun") and fold("junko") == fold("zyunko")
    assert fold("fumi") == fold("humi")
    assert fold("honma") == fold("homma")
    assert fold("yuuki") == fold("yuki")


def test_kanji_kana_variant_kanji_and_latin_names_are_romanised():
    assert {"takahasi", "itiro"} <= romaji.name_key("髙橋 一郎").tokens
    assert {"yamazaki", "makoto"} <= romaji.name_key("山﨑誠").tokens
    assert {"tanaka", "zyun"} <= romaji.name_key("タナカ ジュン").tokens
    assert {"yamada", "taro"} <= romaji.name_key("Ｙａｍａｄａ　Ｔａｒｏ").tokens
    assert romaji.name_key("山田 太郎 様").tokens == romaji.name_key("山田太郎").tokens


# --- display_names_changed ----------------------------------------------------------------


def sent(campaign: Campaign, when: datetime.datetime | None = None) -> Campaign:
    Delivery.objects.filter(campaign=campaign).update(status=Delivery.Status.SENT, sent_at=when or timezone.now())
    return campaign


def rows_of(listing: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(row["氏名"], row["メールアドレス"]) for row in listing]


def changed(pairs) -> list:
    ctx = context(pairs)
    ctx.history = context_module._history(ctx.campaign, ctx.rows)  # what PreflightContext.load reads
    return list(names.display_names_changed(ctx))


def test_a_name_that_changed_since_the_last_send_needs_acknowledgement(drafter, reviewer, sender):
    sent(approved_campaign(drafter, reviewer, sender, members(3)))
    pairs = rows_of(members(3))
    pairs[1] = ("田中 美咲", pairs[1][1])
    finding, = changed(pairs)
    assert finding.severity == Severity.ACKNOWLEDGE
    assert finding.rows == (3,)
    assert "row 3: previously sent as 佐藤 花子1, now 田中 美咲" in finding.message


def test_the_history_is_matched_whatever_the_case_of_the_address(drafter, reviewer, sender):
    sent(approved_campaign(drafter, reviewer, sender, members(2)))
    pairs = [(name, email.upper()) for name, email in rows_of(members(2))]
    pairs[0] = ("別人 太郎", pairs[0][1])
    assert changed(pairs)[0].rows == (2,)


def test_spacing_and_full_width_characters_do_not_make_a_name_different(drafter, reviewer, sender):
    sent(approved_campaign(drafter, reviewer, sender, members(2)))
    assert changed([("山田太郎０", "member00000@example.com"), ("佐藤　花子1", "member00001@example.com")]) == []


def test_only_messages_that_were_sent_count_as_history(drafter, reviewer, sender):
    approved_campaign(drafter, reviewer, sender, members(2))  # approved, still waiting
    assert changed([("別人 太郎", "member00000@example.com")]) == []


def test_the_campaign_itself_is_not_its_own_history(drafter, reviewer, sender):
    campaign = sent(approved_campaign(drafter, reviewer, sender, members(2)))
    ctx = PreflightContext.load(campaign)
    assert list(names.display_names_changed(ctx)) == []
    other = context([("別人 太郎", "member00000@example.com")], campaign=campaign)
    assert list(names.display_names_changed(other)) == []


def test_the_most_recent_send_decides_the_previous_name(drafter, reviewer, sender):
    old = members(1)
    old[0]["氏名"] = "旧姓 花子"
    sent(approved_campaign(drafter, reviewer, sender, old, name="旧"), timezone.now() - datetime.timedelta(days=30))
    sent(approved_campaign(drafter, reviewer, sender, members(1), name="新"))
    assert changed([("山田 太郎0", "member00000@example.com")]) == []
    finding, = changed([("旧姓 花子", "member00000@example.com")])
    assert "previously sent as 山田 太郎0, now 旧姓 花子" in finding.message


@pytest.mark.parametrize("chunks", [3, 1], ids=["in chunks", "in one pass over the history"])
def test_long_lists_find_the_same_history(drafter, reviewer, sender, monkeypatch, chunks):
    sent(approved_campaign(drafter, reviewer, sender, members(3)))
    monkeypatch.setattr(context_module, "HISTORY_CHUNK", 2)
    monkeypatch.setattr(context_module, "HISTORY_MAX_CHUNKS", chunks)
    pairs = [(name, email.upper()) for name, email in rows_of(members(5))]
    pairs[2] = ("別人 太郎", pairs[2][1])
    pairs[0] = ("山田　太郎0", pairs[0][1])
    assert changed(pairs)[0].rows == (4,)
