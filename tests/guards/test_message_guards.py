"""Message guards (incidents 11 and 12): no recipient's message may carry another recipient's data.

The contexts are built by hand from unsaved campaigns: no database is needed.
"""

import pytest
from django.utils import translation

from approvals.guards.context import PreflightContext, Row
from approvals.guards.findings import Severity
from approvals.guards.leaks import messages_carry_no_other_recipients_data, personal_data_patterns
from approvals.models import Campaign
from tests.factories import members

BODY = "{{氏名}} 様\n会員番号 {{会員番号}} の皆様へ、今月の会報をお届けします。"


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def context(rows: list[dict[str, str]], *, subject: str = "{{氏名}} 様へのお知らせ", body: str = BODY,
            html: str = "") -> PreflightContext:
    columns = list(rows[0])
    campaign = Campaign(name="会報", subject=subject, body_text=body, body_html=html, columns=columns,
                        address_column="メールアドレス", name_column="氏名")
    return PreflightContext(
        campaign=campaign,
        rows=[Row(number, row["メールアドレス"], row["氏名"], row) for number, row in enumerate(rows, start=2)],
        internal_domains=set(),
        suppressed={},
    )


def leaks(ctx: PreflightContext) -> list:
    return list(messages_carry_no_other_recipients_data(ctx))


def patterns(ctx: PreflightContext) -> list:
    return list(personal_data_patterns(ctx))


def codes(findings) -> list[tuple[str, Severity]]:
    return [(f.code, f.severity) for f in findings]


def with_column(rows, column: str, values: dict[int, str], default: str = "") -> list[dict[str, str]]:
    """Add a column; values maps list row numbers (header = row 1) to values."""
    return [{**row, column: values.get(number, default)} for number, row in enumerate(rows, start=2)]


# --- Own data is fine ---------------------------------------------------------------


def test_each_recipient_receiving_only_their_own_data_gives_no_finding():
    rows = with_column(members(20), "配信停止URL", {})
    for row in rows:
        row["配信停止URL"] = f"https://example.jp/unsub?m={row['メールアドレス']}"
    ctx = context(
        rows,
        body=BODY + "\n宛先: {{メールアドレス}}\n配信停止: {{配信停止URL}}",
        html='<p>{{氏名}} 様 ({{会員番号}})</p><a href="https://example.jp/unsub?m={{メールアドレス}}">停止</a>',
    )
    assert leaks(ctx) == []
    assert patterns(ctx) == []


# --- Another recipient's data in a merged value ----------------------------------


def test_another_members_unsubscribe_link_in_one_row_is_blocked_naming_that_row():
    rows = members(10)
    rows = with_column(rows, "配信停止URL", {
        number: f"https://example.jp/unsub?m={row['メールアドレス']}" for number, row in enumerate(rows, start=2)
    })
    rows[5]["配信停止URL"] = "https://example.jp/unsub?m=" + rows[1]["メールアドレス"]  # row 7 gets row 3's link
    ctx = context(rows, body=BODY + "\n配信停止はこちら: {{配信停止URL}}")

    [finding] = leaks(ctx)

    assert (finding.code, finding.severity, finding.rows) == ("message.other_recipient_address", Severity.BLOCK, (7,))
    assert "row 7 contains the address of row 3" in finding.message
    assert "{{配信停止URL}}" in finding.message


def test_an_address_percent_encoded_in_a_link_is_still_found():
    rows = with_column(members(5), "配信停止URL", {4: "https://example.jp/unsub?m=member00000%40example.com"})
    ctx = context(rows, html='<a href="{{配信停止URL}}">配信停止</a>')
    assert codes(leaks(ctx)) == [("message.other_recipient_address", Severity.BLOCK)]
    assert leaks(ctx)[0].rows == (4,)


def test_an_address_assembled_from_static_text_and_a_merged_value_is_found():
    # "ログインID: " + "member00001" + "@example.com" is row 3's address inside row 6's message.
    rows = with_column(members(6), "ログインID", {n: f"member{n - 2:05d}" for n in range(2, 8)})
    rows[4]["ログインID"] = "member00001"
    ctx = context(rows, body=BODY + "\nログインID: {{ログインID}}@example.com")
    [finding] = leaks(ctx)
    assert (finding.code, finding.rows) == ("message.other_recipient_address", (6,))
    assert "row 6 contains the address of row 3" in finding.message


def test_the_member_number_of_row_3_in_row_5s_message_is_blocked():
    rows = with_column(members(8), "備考", {5: "ご紹介者: 会員番号 M000001 様"})
    ctx = context(rows, body=BODY + "\n{{備考}}")

    [finding] = leaks(ctx)

    assert (finding.code, finding.severity, finding.rows) == ("message.other_recipient_data", Severity.BLOCK, (5,))
    assert "row 5 contains the “会員番号” of row 3" in finding.message


def test_a_member_number_written_in_full_width_characters_is_still_found():
    rows = with_column(members(8), "備考", {5: "紹介者 Ｍ０００００１"})
    ctx = context(rows, body=BODY + "\n{{備考}}")
    assert [(f.code, f.rows) for f in leaks(ctx)] == [("message.other_recipient_data", (5,))]


def test_another_recipients_phone_number_is_found_however_it_is_hyphenated():
    rows = members(6)
    for number, row in enumerate(rows, start=2):
        row["電話番号"] = f"090-1234-{number:04d}"
    rows = with_column(rows, "備考", {6: "緊急連絡先 09012340003"})  # row 3's phone without hyphens
    ctx = context(rows, body=BODY + "\n{{備考}}")
    [finding] = leaks(ctx)
    assert (finding.code, finding.rows) == ("message.other_recipient_data", (6,))
    assert "“電話番号” of row 3" in finding.message


def test_another_recipients_name_in_a_merged_text_is_blocked():
    rows = with_column(members(8), "おすすめ", {4: "佐藤さんもこの求人を見ています: 髙橋 美咲3さん"})
    ctx = context(rows, body=BODY + "\n{{おすすめ}}")
    [finding] = leaks(ctx)
    assert (finding.code, finding.severity, finding.rows) == ("message.other_recipient_name", Severity.BLOCK, (4,))
    assert "row 4 contains the name of row 5" in finding.message


def test_a_name_shared_by_many_rows_identifies_nobody_and_is_not_reported():
    rows = members(6)
    for row in rows[:3]:
        row["氏名"] = "山田 太郎"
    rows = with_column(rows, "備考", {7: "担当: 山田太郎"})
    ctx = context(rows, body=BODY + "\n{{備考}}")
    assert leaks(ctx) == []


def test_years_and_small_numbers_are_not_taken_for_member_numbers():
    rows = [{"氏名": f"会員{i}", "メールアドレス": f"m{i}@example.com", "会員番号": str(2020 + i)} for i in range(6)]
    rows = with_column(rows, "備考", {2: "2024年度の会費", 3: "2021年入会"})
    ctx = context(rows, body="{{氏名}} 様 {{備考}}")
    assert leaks(ctx) == []


def test_a_row_that_cannot_be_rendered_is_skipped_not_crashed_on():
    rows = members(4)
    rows[1]["氏名"] = "山田\n太郎"  # a line break in the subject's merge field
    rows = with_column(rows, "備考", {3: "member00000@example.com"})
    ctx = context(rows, body=BODY + "\n{{備考}}")
    assert leaks(ctx) == []


# --- The static text ----------------------------------------------------------------


def test_addresses_from_the_list_pasted_into_the_body_are_blocked_once():
    rows = members(30)
    pasted = "\n".join(row["メールアドレス"] for row in rows[:3])
    ctx = context(rows, body=BODY + "\n送信先一覧:\n" + pasted)

    [finding] = leaks(ctx)

    assert (finding.code, finding.severity) == ("message.list_addresses_in_text", Severity.BLOCK)
    assert finding.rows == (2, 3, 4)
    assert "the message text contains addresses from the list: member00000@example.com" in finding.message.lower()
    assert "Plain-text body" in finding.message


def test_names_and_numbers_of_several_rows_pasted_into_the_html_are_blocked():
    rows = members(10)
    table = "".join(f"<tr><td>{row['氏名']}</td><td>{row['会員番号']}</td></tr>" for row in rows[:4])
    ctx = context(rows, html=f"<p>{{{{氏名}}}} 様</p><table>{table}</table>")
    [finding] = leaks(ctx)
    assert (finding.code, finding.severity, finding.rows) == ("message.list_data_in_text", Severity.BLOCK,
                                                              (2, 3, 4, 5))


def test_one_members_name_in_the_static_text_must_be_acknowledged():
    rows = members(10)
    ctx = context(rows, body=BODY + f"\n今月の寄稿: {rows[0]['氏名']} さん")
    assert codes(leaks(ctx)) == [("message.list_data_in_text", Severity.ACKNOWLEDGE)]


# --- Personal data patterns ---------------------------------------------------------


def test_a_phone_number_in_the_static_text_must_be_acknowledged():
    ctx = context(members(5), body=BODY + "\nお問い合わせ: 広報課 03-1234-5678（平日9時～17時）")
    [finding] = patterns(ctx)
    assert (finding.code, finding.severity) == ("message.phone_number", Severity.ACKNOWLEDGE)
    assert "03-1234-5678" in finding.message


@pytest.mark.parametrize("number", ["090-1234-5678", "０８０－１２３４－５６７８", "045-123-4567", "0312345678",
                                    "+81 3 1234 5678", "03(1234)5678", "0123-45-6789"])
def test_japanese_phone_numbers_are_recognised_in_their_usual_spellings(number):
    findings = patterns(context(members(3), body=BODY + f"\n連絡先 {number} まで"))
    assert codes(findings) == [("message.phone_number", Severity.ACKNOWLEDGE)]


def test_a_twelve_digit_my_number_in_the_text_must_be_acknowledged():
    ctx = context(members(3), body=BODY + "\n個人番号 1234 5678 9012")
    assert codes(patterns(ctx)) == [("message.my_number", Severity.ACKNOWLEDGE)]


def test_more_than_three_addresses_in_the_static_text_must_be_acknowledged():
    others = " ".join(f"staff{i}@city.example.jp" for i in range(4))
    ctx = context(members(3), body=BODY + "\n担当: " + others)
    assert codes(patterns(ctx)) == [("message.many_addresses", Severity.ACKNOWLEDGE)]
    assert leaks(ctx) == []


def test_a_recipients_own_phone_number_merged_into_their_message_is_expected():
    rows = members(4)
    for row in rows:
        row["電話番号"] = "03-0000-0000"  # shared by all: not an identifying column
    ctx = context(rows, body=BODY + "\nご登録の電話番号: {{電話番号}}")
    assert patterns(ctx) == []


def test_a_strangers_phone_number_inside_a_merged_text_must_be_acknowledged():
    rows = with_column(members(4), "備考", {3: "前回のお問い合わせ者 090-9999-8888 様より"})
    ctx = context(rows, body=BODY + "\n{{備考}}")
    [finding] = patterns(ctx)
    assert (finding.code, finding.severity, finding.rows) == ("message.personal_data_in_field",
                                                              Severity.ACKNOWLEDGE, (3,))
    assert "{{備考}}" in finding.message


def test_a_large_list_is_scanned_without_false_alarms():
    rows = members(5000)
    for number, row in enumerate(rows, start=2):
        row["電話番号"] = f"090-{number // 10000:04d}-{number % 10000:04d}"
        row["配信停止URL"] = f"https://example.jp/unsub?m={row['メールアドレス']}&id={row['会員番号']}"
    ctx = context(rows, body=BODY + "\n電話 {{電話番号}}\n{{配信停止URL}}",
                  html="<p>{{氏名}} 様</p><a href='{{配信停止URL}}'>停止</a>")
    assert leaks(ctx) == []
    assert patterns(ctx) == []
