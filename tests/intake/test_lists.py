"""Reading recipient lists: encodings, mojibake, header/row rules, limits and unsafe workbooks."""

import csv
import datetime
import hashlib
import io
import random
import re
import zipfile
import zlib

import pytest
from django.utils import translation

from approvals.intake.lists import CSV_ROWS_PER_READ, ListError, RecipientTable, read_recipient_list
from tests.samples import Raw, rewrite_member, xlsx, xlsx_sharing

MB = 1024 * 1024


@pytest.fixture(autouse=True)
def english():
    # Messages are asserted in English; the project's default language is Japanese.
    with translation.override("en"):
        yield


def read(data: bytes, filename: str = "list.csv", *, max_bytes: int = MB, max_rows: int = 100):
    return read_recipient_list(filename, data, max_bytes=max_bytes, max_rows=max_rows)


def refusal(data: bytes, filename: str = "list.csv", **limits) -> str:
    with pytest.raises(ListError) as caught:
        read(data, filename, **limits)
    return str(caught.value)


def zip_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


# --- Encodings --------------------------------------------------------------------


def test_utf8_csv_is_read_with_columns_in_order():
    table = read("email,name,city\ntaro@example.jp,山田太郎,東京\n".encode())
    assert table.columns == ["email", "name", "city"]
    assert table.rows == [{"email": "taro@example.jp", "name": "山田太郎", "city": "東京"}]
    assert table.encoding == "utf-8"


def test_utf8_csv_with_bom_does_not_leave_the_bom_in_the_first_column_name():
    table = read(("\ufeff" + "メール,氏名\ntaro@example.jp,山田太郎\n").encode())
    assert table.columns == ["メール", "氏名"]
    assert table.encoding == "utf-8-sig"


def test_cp932_csv_with_kanji_names_is_read():
    text = (
        "氏名,フリガナ,メール\n"
        "山田太郎,ヤマダタロウ,taro@example.jp\n"
        "髙橋﨑子,タカハシ,t@example.jp\n"
    )
    table = read(text.encode("cp932"))
    assert table.encoding == "cp932"
    assert [row["氏名"] for row in table.rows] == ["山田太郎", "髙橋﨑子"]
    assert table.rows[0]["フリガナ"] == "ヤマダタロウ"


def test_cp932_extensions_as_excel_writes_them_are_read():
    # Windows writes 髙 as the IBM extension FB FC and ① as NEC row 13 (87 40);
    # plain shift_jis has neither.
    data = "氏名,備考\n".encode("cp932") + b"\xfb\xfc\x8b\xb4," + b"\x87\x40\n"
    table = read(data)
    assert table.encoding == "cp932"
    assert table.rows[0]["氏名"] == "髙橋"
    assert table.rows[0]["備考"] == "①"  # kept as typed: NFKC is for comparing, never for what is sent


def test_excel_unicode_text_export_utf16_with_tabs_is_read():
    table = read(("メール\t氏名\r\ntaro@example.jp\t山田太郎\r\n").encode("utf-16"), "list.txt")
    assert table.columns == ["メール", "氏名"]
    assert table.rows == [{"メール": "taro@example.jp", "氏名": "山田太郎"}]


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_comma_tab_and_semicolon_delimiters_are_detected(delimiter):
    text = delimiter.join(["email", "name"]) + "\n" + delimiter.join(["a@example.jp", "A"]) + "\n"
    assert read(text.encode()).rows == [{"email": "a@example.jp", "name": "A"}]


def test_a_single_column_list_is_read():
    table = read(b"email\na@example.jp\nb@example.jp\n")
    assert table.columns == ["email"]
    assert len(table.rows) == 2


def test_half_width_katakana_names_are_read_not_mistaken_for_mojibake():
    text = "ﾌﾘｶﾞﾅ,ﾒｰﾙ\nﾔﾏﾀﾞ ﾀﾛｳ,taro@example.jp\nｽｽﾞｷ ｾｲｽｹ,s@example.jp\n"
    table = read(text.encode("cp932"))
    assert table.columns == ["フリガナ", "メール"]  # column names are compared, so they are normalised
    assert [row["フリガナ"] for row in table.rows] == ["ﾔﾏﾀﾞ ﾀﾛｳ", "ｽｽﾞｷ ｾｲｽｹ"]


def test_latin1_names_fall_back_to_detection_and_are_read():
    data = "name,email\nRenée Dupont,renee@example.fr\nJosé Núñez,jose@example.es\n"
    table = read(data.encode("latin-1"))
    assert [row["name"] for row in table.rows] == ["Renée Dupont", "José Núñez"]


JAPANESE = "氏名,メール\n山田太郎,taro@example.jp\nありがとうございます,arigato@example.jp\n"


@pytest.mark.parametrize(
    "garbled",
    [
        # Read as CP932 by an editor, unreadable bytes became U+FFFD, saved as UTF-8.
        JAPANESE.encode().decode("cp932", errors="replace").encode(),
        # Opened in Excel as CP932 (unreadable bytes shown as ・) and saved as CSV (Shift-JIS).
        JAPANESE.encode().decode("cp932", errors="replace").replace("\ufffd", "・").encode("cp932"),
        # Read as CP932, the unreadable bytes dropped, saved as UTF-8.
        JAPANESE.encode().decode("cp932", errors="ignore").encode(),
        # Read as Latin-1 / Windows-1252 and saved as UTF-8 (ã‚ã‚Š…).
        JAPANESE.encode().decode("latin-1").encode(),
        JAPANESE.encode().decode("cp1252", errors="ignore").encode(),
    ],
    ids=["cp932-replace", "cp932-excel", "cp932-ignore", "latin1", "cp1252"],
)
def test_mojibake_from_utf8_decoded_with_the_wrong_codec_is_refused(garbled):
    message = refusal(garbled)
    assert "could not be recognised" in message
    assert "CSV UTF-8" in message and "CSV (Shift-JIS)" in message


def test_garbled_half_width_katakana_is_refused():
    garbled = "ﾌﾘｶﾞﾅ,ﾒｰﾙ\nｱｲｳｴｵ ｶｷｸ,a@example.jp\n".encode().decode("cp932", "replace")
    assert "could not be recognised" in refusal(garbled.replace("\ufffd", "・").encode("cp932"))


def test_rows_pasted_in_from_a_file_with_another_encoding_are_refused():
    good = "".join(f"佐藤花子{n},hanako{n}@example.jp\n" for n in range(20))
    pasted = "山田太郎,taro@example.jp\n".encode().decode("cp932", "ignore")
    assert "could not be recognised" in refusal(("氏名,メール\n" + good + pasted).encode())


@pytest.mark.parametrize("garbled", ["one cell", "the whole row", "the end of a cell"])
def test_garbled_text_in_a_row_of_long_notes_is_refused(garbled):
    # 15,000 characters: garbled, they are about 22,500 (CP932 reads each UTF-8 character as 1.5).
    note = ("会員の皆様へ、いつもありがとうございます。" * 1_600)[:15_000]
    row = f"山田太郎,taro@example.jp,{note}"
    if garbled == "one cell":
        row = "山田太郎,taro@example.jp," + note.encode().decode("cp932", "ignore")
    elif garbled == "the end of a cell":  # typed text, then text pasted from a misread file
        row = f"山田太郎,taro@example.jp,{note[:1_100]}" + note[:6_000].encode().decode("cp932", "ignore")
    else:
        row = row.encode().decode("cp932", "ignore")
    rows = f"氏名,メール,備考\n佐藤花子,hanako@example.jp,{note}\n{row}\n"
    assert "could not be recognised" in refusal(rows.encode(), max_bytes=MB)


def test_rows_of_long_notes_in_japanese_are_read():
    note = ("会員の皆様へ、いつもありがとうございます。ＥメールはEで始まります。" * 1_000)[:32_767]
    rows = "氏名,メール,備考\n" + "".join(f"佐藤花子{n},hanako{n}@example.jp,{note}\n" for n in range(20))
    assert len(read(rows.encode(), max_bytes=4 * MB).rows) == 20


def test_euc_jp_is_recognised_by_detection():
    table = read("なまえ,めーる\nやまだ たろう,taro@example.jp\n".encode("euc_jp"))
    assert table.rows == [{"なまえ": "やまだ たろう", "めーる": "taro@example.jp"}]


def test_iso_2022_jp_is_decoded_not_imported_as_escape_sequences():
    table = read("氏名,メール\n山田太郎,taro@example.jp\n".encode("iso2022_jp"))
    assert table.rows == [{"氏名": "山田太郎", "メール": "taro@example.jp"}]


def test_a_note_with_a_japanese_comma_before_e_is_not_mistaken_for_mojibake():
    table = read("氏名,連絡方法\n山田太郎,電話、Eメール\n".encode())
    assert table.rows[0]["連絡方法"] == "電話、Eメール"


def test_bytes_in_no_recognisable_encoding_are_refused():
    assert "could not be recognised" in refusal(bytes(range(128, 256)) * 3)


def test_nul_bytes_are_refused():
    assert "could not be recognised" in refusal(b"email,name\na@example.jp,A\x00B\n")


# --- Normalisation ----------------------------------------------------------------


def test_full_width_address_and_letters_are_kept_as_typed():
    table = read("メール,番号\nｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ,１２３\n".encode("cp932"))
    assert table.rows == [{"メール": "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ", "番号": "１２３"}]
    assert table.guess_address_column() == "メール"


def test_characters_nfkc_would_fold_are_kept_exactly_as_typed():
    typed = ["髙橋 ①郎", "㈱みつばち", "ﾔﾏﾀﾞ", "Ｔａｒｏ", "株式会社　山田", "ｱﾄﾞﾚｽ①"]
    data = ("氏名,email\n" + "".join(f"{name},a{i}@example.jp\n" for i, name in enumerate(typed))).encode("cp932")
    for table in (read(data), read(data.decode("cp932").encode("utf-8"))):
        assert [row["氏名"] for row in table.rows] == typed


def test_spaces_around_values_are_kept_and_around_column_names_dropped():
    table = read("\u3000email ,　氏名\n a@example.jp\u3000,\u3000山田\u3000太郎 \n".encode())
    assert table.columns == ["email", "氏名"]
    assert table.rows == [{"email": " a@example.jp\u3000", "氏名": "\u3000山田\u3000太郎 "}]


def test_quoted_cells_with_commas_quotes_and_line_breaks_are_read():
    data = b'email,note\na@example.jp,"one, two ""three""\nfour"\nb@example.jp,x\n'
    table = read(data)
    assert table.rows[0]["note"] == 'one, two "three"\nfour'
    assert table.row_numbers == [2, 3]  # the quoted line break stays inside row 2


def test_sha256_is_of_the_uploaded_bytes():
    data = "email\na@example.jp\n".encode("cp932")
    assert read(data).sha256 == hashlib.sha256(data).hexdigest()


# --- Limits and formats -----------------------------------------------------------


def test_a_file_over_the_size_limit_is_refused_stating_the_limit_in_mb():
    message = refusal(b"email\n" + b"a@example.jp\n" * 200_000, max_bytes=2 * MB)
    assert "2 MB" in message


def test_more_rows_than_the_limit_is_refused_stating_limit_and_count():
    data = b"email\n" + b"".join(b"u%d@example.jp\n" % n for n in range(12))
    message = refusal(data, max_rows=10)
    assert "12" in message and "10" in message


def test_exactly_the_row_limit_is_accepted():
    data = b"email\n" + b"".join(b"u%d@example.jp\n" % n for n in range(10))
    assert len(read(data, max_rows=10).rows) == 10


@pytest.mark.parametrize("filename", ["list.xls", "list.pdf", "list", "list.csv.exe"])
def test_other_file_types_are_refused_naming_the_accepted_formats(filename):
    message = refusal(b"email\na@example.jp\n", filename)
    assert filename in message
    assert ".csv" in message and ".txt" in message and ".xlsx" in message


def test_extension_is_matched_case_insensitively():
    assert read(b"email\na@example.jp\n", "LIST.CSV").columns == ["email"]


def test_an_empty_file_is_refused():
    assert "empty" in refusal(b"")


def test_a_file_of_blank_lines_has_no_header_row():
    assert "no header row" in refusal(b"\r\n\r\n,,\r\n")


def test_a_header_only_file_gives_zero_rows():
    table = read("メール,氏名\n".encode())
    assert table.columns == ["メール", "氏名"]
    assert table.rows == []


# --- Header and row rules ---------------------------------------------------------


def test_duplicate_column_names_are_refused_naming_them():
    # NFKC makes the full-width ＥＭＡＩＬ the same name as EMAIL.
    message = refusal("EMAIL,name,ＥＭＡＩＬ\na,b,c\n".encode())
    assert "“EMAIL”" in message
    assert "“name”" not in message


def test_a_column_without_a_name_is_refused_with_its_number():
    assert "Column 2 " in refusal(b"email,,name\na@example.jp,x,y\n")


def test_trailing_empty_header_cells_and_trailing_separators_are_ignored():
    table = read(b"email,name,,\na@example.jp,A,,\n")
    assert table.columns == ["email", "name"]
    assert table.rows == [{"email": "a@example.jp", "name": "A"}]


def test_a_row_with_more_cells_than_columns_is_refused_with_its_excel_row_number():
    # Header is row 1, the blank line is row 3, so the long row is row 4.
    message = refusal(b"email,name\na@example.jp,A\n\nb@example.jp,B,extra\n")
    assert "Row 4 " in message
    assert "3 values" in message and "2 columns" in message


def test_short_rows_are_padded_and_blank_rows_skipped_keeping_excel_row_numbers():
    table = read(b"email,name,city\n\na@example.jp\n,,\nb@example.jp,B,Osaka\n")
    assert table.rows == [
        {"email": "a@example.jp", "name": "", "city": ""},
        {"email": "b@example.jp", "name": "B", "city": "Osaka"},
    ]
    assert table.row_numbers == [3, 5]


def test_an_unclosed_quote_is_refused_with_its_row_number():
    message = refusal(b'email,name\na@example.jp,A\nb@example.jp,"B\nc@example.jp,C\n')
    assert "Row 3 " in message
    assert "quotation mark" in message


@pytest.mark.parametrize("broken_row", [CSV_ROWS_PER_READ, CSV_ROWS_PER_READ + 1, 2 * CSV_ROWS_PER_READ + 7])
def test_a_broken_row_past_the_first_rows_read_is_named_by_its_row(broken_row):
    """Rows are read a thousand at a time; the row number in the message still counts every row."""
    lines = ["email,name", *(f"m{n}@example.jp,M{n}" for n in range(2, broken_row)),
             'x@example.jp,"X', "y@example.jp,Y"]
    message = refusal("\n".join(lines).encode(), max_rows=5_000)
    assert f"Row {broken_row} " in message and "quotation mark" in message


def test_an_earlier_rows_problem_is_reported_before_a_later_broken_quote():
    lines = ["email,name", "a@example.jp,A", "b@example.jp,B,extra", *(f"m{n}@example.jp,M" for n in range(10)),
             'x@example.jp,"X']
    message = refusal("\n".join(lines).encode())
    assert "Row 3 " in message and "3 values" in message


def test_text_after_a_closing_quote_is_refused_not_guessed():
    assert "Row 2 " in refusal(b'email,name\na@example.jp,"Yamada" Taro\n')


# --- XLSX -------------------------------------------------------------------------


def test_xlsx_with_kanji_an_integer_and_a_date_is_read():
    data = xlsx([
        ["メール", "氏名", "会員番号", "入会日", "残高"],
        ["taro@example.jp", "山田太郎", 1024, datetime.date(2024, 4, 1), 12.5],
        ["ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｊｐ", "髙橋﨑子", 7.0, None, None],
    ])
    table = read(data, "名簿.xlsx")
    assert table.columns == ["メール", "氏名", "会員番号", "入会日", "残高"]
    assert table.rows == [
        {"メール": "taro@example.jp", "氏名": "山田太郎", "会員番号": "1024",
         "入会日": "2024-04-01", "残高": "12.5"},
        {"メール": "ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｊｐ", "氏名": "髙橋﨑子", "会員番号": "7",
         "入会日": "", "残高": ""},
    ]
    assert table.encoding == "xlsx"
    assert table.sha256 == hashlib.sha256(data).hexdigest()


def test_xlsx_text_is_what_excel_shows_without_furigana_and_with_escaped_characters_restored():
    """Excel keeps the reading of a name typed through the IME (phonetic runs) beside its text; it is
    not part of the name. Excel writes a carriage return as _x000D_ and a literal "_x000D_" as
    _x005F_x000D_; spaces around a value stay."""
    data = xlsx_sharing(
        [["email", "氏名", "備考"], ["a@example.jp", 0, 1], ["b@example.jp", 2, 3]],
        [Raw('<t>山田　太郎</t><rPh sb="0" eb="2"><t>ヤマダ</t></rPh><rPh sb="3" eb="5"><t>タロウ</t></rPh>'
             '<phoneticPr fontId="1"/>'),
         Raw('<t xml:space="preserve">  一行目_x000D_\n二行目 </t>'),
         Raw('<r><t>佐藤</t></r><r><rPr><b/></rPr><t>花子</t></r><rPh sb="0" eb="2"><t>サトウ</t></rPh>'),
         Raw("<t>_x005F_x000D_ is how Excel writes _x000D_</t>")])
    assert read(data, "名簿.xlsx").rows == [
        {"email": "a@example.jp", "氏名": "山田　太郎", "備考": "  一行目\r\n二行目 "},
        {"email": "b@example.jp", "氏名": "佐藤花子", "備考": "_x000D_ is how Excel writes \r"},
    ]


@pytest.mark.parametrize("unmarked", [
    Raw("<r><t>山田</t></r><r><t> 太郎</t></r>"),  # a second run starting with the space between the names
    Raw("<r><t>山田 </t></r><r><t>太郎</t></r>"),  # a first run ending with it
    Raw("<r><t>山田</t></r><r><t> </t></r><r><t>太郎</t></r>"),  # a run that is only the space
    Raw("<r><rPr><b/></rPr><t>山田</t></r><r><t>&#32;太郎</t></r>"),  # the space as a character reference
    Raw('<r><t>山田</t></r><r><t xml:space="default">&#x9;太郎</t></r>'),  # marked "default", not "preserve"
    Raw("<r><rPr/><t>山田</t></r><r><rPr /><t> 太郎</t></r>"),  # an empty run format, as openpyxl writes it
    Raw("<r>\n  <t>山田 </t>\n</r><r >\n  <t>太郎</t>\n</r >"),  # white space between the tags
])
def test_xlsx_run_of_text_starting_or_ending_with_a_space_not_marked_to_be_kept_is_refused(unmarked):
    """Excel writes xml:space="preserve" there; without it calamine drops the space, and 山田 太郎 becomes 山田太郎."""
    data = xlsx_sharing([["email", "氏名"], ["a@example.jp", 0]], [unmarked])
    assert "does not mark to be kept" in refusal(data, "list.xlsx")


def test_xlsx_runs_marked_to_be_kept_and_a_whole_cell_are_read_as_excel_shows_them():
    kept = Raw('<r><t xml:space="preserve">山田 </t></r><r><t>太郎</t></r>')
    prefixed = Raw('<x:r><x:t xml:space="preserve">佐藤</x:t></x:r><x:r><x:t xml:space="preserve"> 花子</x:t></x:r>')
    # Excel trims a whole cell's unmarked white space as well; furigana are not part of the text.
    whole = Raw('<t> 鈴木一郎 </t><rPh sb="0" eb="2"><t>スズキ </t></rPh>')
    data = xlsx_sharing([["email", "氏名"], ["a@example.jp", 0], ["b@example.jp", 1], ["c@example.jp", 2]],
                        [kept, prefixed, whole])
    assert [row["氏名"] for row in read(data, "list.xlsx").rows] == ["山田 太郎", "佐藤 花子", "鈴木一郎"]


def test_xlsx_inline_run_not_marked_to_be_kept_is_refused():
    inline = Raw('<c r="B2" t="inlineStr"><is><r><t>山田</t></r><r><t> 太郎</t></r></is></c>')
    data = xlsx_sharing([["email", "氏名"], ["a@example.jp", inline]], [])
    assert "does not mark to be kept" in refusal(data, "list.xlsx")


def test_xlsx_formula_results_are_read_and_an_error_result_is_an_empty_cell():
    """The value a formula last showed is read; an error (#N/A from a failed lookup) has no value to
    send, so its cell is empty and the missing-values guard names the rows when a merge field uses it."""
    data = xlsx_sharing(
        [["email", "氏名"],
         ["a@example.jp", Raw('<c r="B2" t="str"><f>VLOOKUP(A2,会員!A:B,2,FALSE)</f><v>山田 太郎</v></c>')],
         ["b@example.jp", Raw('<c r="B3" t="e"><f>VLOOKUP(A3,会員!A:B,2,FALSE)</f><v>#N/A</v></c>')]],
        [])
    assert [row["氏名"] for row in read(data, "list.xlsx").rows] == ["山田 太郎", ""]


def test_xlsx_that_starts_below_row_1_keeps_excels_row_and_column_numbers():
    rng = random.Random(1)
    too_long = "".join(rng.choice("あいうえお山田") for _ in range(32_768))  # does not compress far
    data = xlsx_sharing([[], [], ["email", "氏名", "区分", "備考"], ["a@example.jp", "", "", too_long]], [])
    assert "Row 4, column D holds a value longer" in refusal(data, "list.xlsx")
    data = xlsx_sharing([[], [], ["email", "備考"], [], ["a@example.jp", "ok"]], [])
    table = read(data, "list.xlsx")
    assert (table.columns, table.row_numbers) == (["email", "備考"], [5])
    assert table.rows == [{"email": "a@example.jp", "備考": "ok"}]


def test_an_opendocument_spreadsheet_named_xlsx_is_refused():
    """calamine would read it, and an ODS row can repeat itself a million times in a few bytes."""
    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')

    def row(*values):
        return "<table:table-row>" + "".join(
            f'<table:table-cell office:value-type="string"><text:p>{value}</text:p></table:table-cell>'
            for value in values) + "</table:table-row>"
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} office:version="1.2">'
               f'<office:body><office:spreadsheet><table:table table:name="S">{row("email", "氏名")}'
               f'{row("a@example.jp", "山田")}</table:table></office:spreadsheet></office:body>'
               '</office:document-content>')
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
                'opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
                'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry '
                'manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:  # the media type first and stored, as OpenDocument requires
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", manifest)
    data = out.getvalue()
    from python_calamine import CalamineWorkbook
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
    assert sheet.to_python()[1] == ["a@example.jp", "山田"]  # calamine reads it
    assert "not a valid Excel workbook" in refusal(data, "list.xlsx")
    # Nor with a list of part types that mentions a workbook: in a comment, for a part it lacks, for
    # its own content, or beside a workbook part calamine cannot read (it then reads the ODS).
    main = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    for types, workbook_part in (("<!-- spreadsheetml.sheet.main+xml -->", None),
                                 (f'<Override PartName="/xl/workbook.xml" ContentType="{main}"/>', None),
                                 (f'<Override PartName="/content.xml" ContentType="{main}"/>', None),
                                 (f'<Override PartName="/xl/workbook.xml" ContentType="{main}"/>', b"junk")):
        spoofed = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(spoofed, "a") as target:
            for info in source.infolist():
                target.writestr(info, source.read(info))
            target.writestr("[Content_Types].xml", '<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                            f'content-types">{types}</Types>')
            if workbook_part:
                target.writestr("xl/workbook.xml", workbook_part)
        assert "not a valid Excel workbook" in refusal(spoofed.getvalue(), "list.xlsx")


@pytest.mark.parametrize("encoding", ["UTF-32", "nonexistent", "utf-7", "rot13", "hex"])
def test_xlsx_whose_list_of_part_types_declares_an_encoding_that_is_no_text_codec_is_refused(encoding):
    data = xlsx([["email"], ["a@example.jp"]])
    data = rewrite_member(data, "[Content_Types].xml",
                          lambda xml: f'<?xml version="1.0" encoding="{encoding}"?>'.encode() + xml)
    assert "not a valid Excel workbook" in refusal(data, "list.xlsx")


def test_xlsx_member_larger_than_its_declared_size_is_refused():
    """The archive checks trust each member's declared size; the workbook reader must not read past it."""
    data = xlsx([["email"], *([f"m{n}@example.jp"] for n in range(2_000))])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.getinfo("xl/worksheets/sheet1.xml")
        prefix = archive.read(sheet)[:1_000]
    # Declare only the first 1,000 bytes, with their CRC: zipfile then stops there without an error.
    patched = bytearray(data)
    for offset, size_at, crc_at in ((sheet.header_offset, 22, 14), (_central_entry(data, sheet.filename), 24, 16)):
        patched[offset + size_at:offset + size_at + 4] = len(prefix).to_bytes(4, "little")
        patched[offset + crc_at:offset + crc_at + 4] = zlib.crc32(prefix).to_bytes(4, "little")
    with zipfile.ZipFile(io.BytesIO(bytes(patched))) as archive:
        assert archive.read("xl/worksheets/sheet1.xml") == prefix
    assert "not a valid Excel workbook" in refusal(bytes(patched), "list.xlsx")


def _central_entry(data: bytes, name: str) -> int:
    """Offset of the central directory entry of member name."""
    entry = re.compile(rb"PK\x01\x02.{24}(..)", re.S)
    for match in entry.finditer(data):
        length = int.from_bytes(match.group(1), "little")
        if data[match.start() + 46:match.start() + 46 + length] == name.encode():
            return match.start()
    raise LookupError(name)


def test_xlsx_rows_beyond_a_wrong_stored_dimension_are_not_dropped():
    data = xlsx([["email", "name"], ["a@example.jp", "A"], ["b@example.jp", "B"]])
    data = rewrite_member(
        data, "xl/worksheets/sheet1.xml",
        lambda xml: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1"', xml),
    )
    table = read(data, "list.xlsx")
    assert table.columns == ["email", "name"]
    assert [row["name"] for row in table.rows] == ["A", "B"]


def test_xlsx_follows_the_same_row_rules_with_excel_row_numbers():
    data = xlsx([["email", "name"], ["a@example.jp"], [], ["b@example.jp", "B", "extra"]])
    assert "Row 4 " in refusal(data, "list.xlsx")


def test_xlsx_with_mojibake_from_a_misread_csv_is_refused_with_the_row_number():
    garbled = "山田太郎".encode().decode("cp932", "replace").replace("\ufffd", "・")
    data = xlsx([["email", "name"], ["a@example.jp", "佐藤花子"], ["b@example.jp", garbled]])
    message = refusal(data, "list.xlsx")
    assert "Row 3 " in message and "garbled" in message


def test_words_starting_with_e_after_a_kanji_are_not_taken_for_mojibake():
    """品 and チ end in byte 0x81 in UTF-8, as the characters Excel's round trip leaves before an "E"."""
    rows = [["email", "会場"], ["a@example.jp", "食品EXPO出展"], ["b@example.jp", "商品EC"],
            ["c@example.jp", "新商品EV"], ["d@example.jp", "ランチEXPO"]]
    assert len(read(xlsx(rows), "list.xlsx").rows) == 4
    assert len(read("\r\n".join(",".join(row) for row in rows).encode()).rows) == 4


def test_xlsx_with_one_garbled_name_among_real_words_before_e_is_refused_with_its_row():
    """Excel's round trip leaves 山田太郎 as 山田太郁E; 本館E棟 in other rows must not outvote it."""
    data = xlsx([["email", "氏名", "会場"], ["a@example.jp", "佐藤花子", "本館E棟"],
                 ["b@example.jp", "山田太郁E", ""], ["c@example.jp", "鈴木一郎", "新館E棟"]])
    message = refusal(data, "list.xlsx")
    assert "Row 3 " in message and "garbled" in message


@pytest.mark.parametrize(("row", "message"), [
    ("1048577", "not a valid Excel workbook"),
    # The reader asks for two billion rows at once and is stopped at its memory ceiling.
    ("2000000000", "could not be read within the memory and time"),
])
def test_xlsx_with_a_forged_row_number_beyond_excels_last_row_is_refused(row, message):
    data = xlsx([["email"], ["a@example.jp"], ["b@example.jp"]])
    data = rewrite_member(
        data, "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace(b'<row r="3"', f'<row r="{row}"'.encode()).replace(b'r="A3"', f'r="A{row}"'.encode()),
    )
    assert message in refusal(data, "list.xlsx")


def test_xlsx_header_only_gives_zero_rows():
    assert read(xlsx([["email", "name"]]), "list.xlsx").rows == []


def test_xlsx_row_limit_applies():
    data = xlsx([["email"]] + [[f"u{n}@example.jp"] for n in range(5)])
    message = refusal(data, "list.xlsx", max_rows=3)
    assert "5" in message and "3" in message


@pytest.mark.parametrize(
    "data",
    [b"email\na@example.jp\n", b"PK\x03\x04broken", zip_of({"hello.txt": b"hi"})],
    ids=["csv-renamed", "truncated-zip", "zip-without-workbook"],
)
def test_a_file_that_is_not_a_real_xlsx_is_refused(data):
    assert "not a valid Excel workbook" in refusal(data, "list.xlsx")


def test_xlsx_zip_bomb_member_is_refused_before_opening():
    bomb = zip_of({
        "[Content_Types].xml": b'<?xml version="1.0"?><Types/>',
        "xl/worksheets/sheet1.xml": b'<?xml version="1.0"?><worksheet>'
        + b" " * (5 * MB) + b"</worksheet>",
    })
    assert len(bomb) < 50_000
    message = refusal(bomb, "list.xlsx", max_bytes=2 * MB)  # in all, under 5 x the limit: the ratio refuses it
    assert "not opened" in message and "xl/worksheets/sheet1.xml" in message


def test_xlsx_unpacking_to_more_than_five_times_the_limit_is_refused():
    # Each member expands about 50-fold (under the ratio limit); together they
    # unpack to more than 5 x the 20 KB upload limit.
    block = random.Random(0).randbytes(1000) * 50
    data = zip_of({f"xl/media/image{n}.png": block for n in range(10)})
    assert len(data) < 20_000
    message = refusal(data, "list.xlsx", max_bytes=20_000)
    assert "more than" in message and "not opened" in message


BILLION_LAUGHS = (
    b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>'
)


def with_doctype(xml: bytes, padding: bytes) -> bytes:
    """The part with a DTD after its XML declaration (or at the start if it has none)."""
    declaration_end = xml.index(b"?>") + 2 if xml.startswith(b"<?xml") else 0
    return xml[:declaration_end] + padding + BILLION_LAUGHS + xml[declaration_end:]


# The padding hides the DOCTYPE from a check of only the first 2 KB.
@pytest.mark.parametrize("padding", [b"", b"<!--" + b"x" * 3000 + b"-->", b"<?pi " + b"x" * 70_000 + b"?>"],
                         ids=["plain", "padded", "behind-an-instruction-longer-than-the-bytes-read"])
@pytest.mark.parametrize("part", ["xl/worksheets/sheet1.xml", "xl/workbook.xml", "[Content_Types].xml"])
def test_xlsx_with_a_doctype_entity_declaration_is_refused(part, padding):
    data = xlsx([["email", "name"], ["a@example.jp", "&lol2;"]])
    data = rewrite_member(data, part, lambda xml: with_doctype(xml, padding))
    message = refusal(data, "list.xlsx")
    assert part in message and "not opened" in message


def test_xlsx_shared_strings_with_a_doctype_are_refused():
    shared = with_doctype(b'<?xml version="1.0"?><sst><si><t>&lol2;</t></si></sst>', b"")
    out = io.BytesIO(xlsx([["email"], ["a@example.jp"]]))
    with zipfile.ZipFile(out, "a") as archive:
        archive.writestr("xl/sharedStrings.xml", shared)
    assert "xl/sharedStrings.xml" in refusal(out.getvalue(), "list.xlsx")


def test_xlsx_part_in_utf16_is_refused():
    data = xlsx([["email"], ["a@example.jp"]])
    data = rewrite_member(data, "xl/workbook.xml", lambda xml: xml.decode().encode("utf-16"))
    assert "xl/workbook.xml" in refusal(data, "list.xlsx")


# --- Guessing the columns ---------------------------------------------------------


def test_address_column_is_guessed_by_name():
    table = RecipientTable(["氏名", "メールアドレス"], [], "utf-8", "")
    assert table.guess_address_column() == "メールアドレス"
    assert RecipientTable(["name", "E-Mail"], [], "utf-8", "").guess_address_column() == "E-Mail"


def test_address_column_is_guessed_by_content_when_no_name_says_so():
    rows = [{"宛先": "a@example.jp", "名": "A"}, {"宛先": "b@example.jp", "名": "B"},
            {"宛先": "", "名": "C"}]
    assert RecipientTable(["名", "宛先"], rows, "utf-8", "").guess_address_column() == "宛先"


def test_no_address_column_is_guessed_when_nothing_looks_like_one():
    rows = [{"code": "1", "city": "Tokyo"}]
    assert RecipientTable(["code", "city"], rows, "utf-8", "").guess_address_column() is None


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["メール", "氏名"], "氏名"),
        (["email", "Name"], "Name"),
        (["会社名", "お名前", "メール"], "お名前"),
        (["氏名（カナ）", "氏名（漢字）", "email"], "氏名(漢字)"),
        (["宛名", "email"], "宛名"),
        (["email", "city"], None),
    ],
)
def test_name_column_is_guessed(columns, expected):
    table = read((",".join(columns) + "\n").encode())
    assert table.guess_name_column() == expected


def test_guesses_work_on_a_read_table():
    table = read("会員番号,お名前,メールアドレス\n1,山田太郎,taro@example.jp\n".encode("cp932"))
    assert (table.guess_address_column(), table.guess_name_column()) == ("メールアドレス", "お名前")


# --- Cells longer than a spreadsheet holds ------------------------------------------


def test_a_cell_at_excel_s_limit_is_kept_as_typed():
    note = "メモ" * 16_383 + "!"  # 32,767 characters, the most one Excel cell holds
    table = read(f"email,note\r\na@example.jp,{note}\r\n".encode(), max_bytes=MB)
    assert table.rows[0]["note"] == note


@pytest.mark.parametrize("where", ["header", "address", "last cell", "quoted with commas"])
def test_a_cell_longer_than_excel_allows_is_refused_naming_its_row(where):
    long = "a" * 32_768
    data = {
        "header": f"email,{long}\r\na@example.jp,x\r\n",
        "address": f"name,email\r\n山田,{long}@example.jp\r\n",
        "last cell": f"email,name,note\r\na@example.jp,A,ok\r\nb@example.jp,B,{long}\r\n",
        "quoted with commas": f'email,note\r\na@example.jp,"{",".join([long[:100]] * 330)}"\r\n',
    }[where]
    message = refusal(data.encode(), max_bytes=MB)
    row = {"header": 1, "address": 2, "last cell": 3, "quoted with commas": 2}[where]
    assert message.startswith(f"Row {row} holds a value longer than a spreadsheet cell can hold (32,767 characters)")


def test_the_csv_module_s_limit_is_put_back_after_a_list_is_read():
    # The limit is global to the process: other CSV readers keep theirs.
    before = csv.field_size_limit()
    read(b"email\r\na@example.jp\r\n")
    refusal(("email\r\n" + "a" * 40_000 + "\r\n").encode())
    assert csv.field_size_limit() == before


def test_a_workbook_cell_longer_than_excel_allows_is_refused_too():
    # Neither Excel nor openpyxl writes one, so the cell is lengthened in the file itself
    # (with text that does not compress like a zip bomb).
    rng = random.Random(7)
    text = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(40_000))
    workbook = xlsx([["email", "note"], ["a@example.jp", text[:30_000]]])
    forged = rewrite_member(workbook, "xl/worksheets/sheet1.xml",
                            lambda xml: xml.replace(text[:30_000].encode(), text.encode()))
    message = refusal(forged, "list.xlsx")
    assert message.startswith("Row 2, column B holds a value longer than a spreadsheet cell can hold (32,767")


# --- Text a workbook unpacks to ------------------------------------------------------


def low_entropy(letters: str, count: int, seed: int) -> str:
    """Text that compresses about fourfold: under the zip-bomb ratio, yet small as a file."""
    rng = random.Random(seed)
    return "".join(rng.choice(letters) for _ in range(count))


@pytest.mark.parametrize("letters,count", [("abcd", 10_000), ("あいうえ", 3_334)], ids=["ascii", "kanji-as-utf8"])
def test_a_workbook_holding_more_text_than_a_list_may_is_refused_at_the_row_that_passes_it(letters, count):
    # Rows of about 10,000 bytes pass 100,000 at the tenth (Excel row 11); kana count as UTF-8 bytes.
    workbook = xlsx([["email", "note"], *([f"a{i}@example.jp", low_entropy(letters, count, i)] for i in range(15))])
    assert len(workbook) < 100_000
    message = refusal(workbook, "list.xlsx", max_bytes=100_000)
    assert message.startswith("By row 11 the workbook already holds more text than the limit for a list")


def test_a_workbook_whose_text_fits_the_limit_is_read():
    workbook = xlsx([["email", "note"], *([f"a{i}@example.jp", low_entropy("あいうえ", 3_334, i)] for i in range(9))])
    assert len(read(workbook, "list.xlsx", max_bytes=100_000).rows) == 9


def test_one_shared_string_in_every_row_counts_once_per_cell():
    """A shared string is stored once and may fill any number of cells: kilobytes of file, gigabytes of text."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package = "http://schemas.openxmlformats.org/package/2006"
    rng = random.Random(3)
    note = "".join(rng.choice("あいうえおかきくけこ") for _ in range(5_000))
    rows = "".join(f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>a{n}@example.jp</t></is></c>'
                   f'<c r="B{n}" t="s"><v>0</v></c></row>' for n in range(2, 2_002))
    workbook = zip_of({
        "[Content_Types].xml": f'<Types xmlns="{package}/content-types"><Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
        'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
        'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.sharedStrings+xml"/></Types>'.encode(),
        "_rels/.rels": f'<Relationships xmlns="{package}/relationships"><Relationship Id="r1" '
        f'Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'.encode(),
        "xl/workbook.xml": f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets><sheet name="S" sheetId="1" '
        'r:id="r1"/></sheets></workbook>'.encode(),
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{package}/relationships"><Relationship Id="r1" '
        f'Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="r2" '
        f'Type="{rel}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'.encode(),
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{main}"><sheetData><row r="1"><c r="A1" t="inlineStr">'
        f'<is><t>email</t></is></c><c r="B1" t="inlineStr"><is><t>note</t></is></c></row>{rows}'
        '</sheetData></worksheet>'.encode(),
        "xl/sharedStrings.xml": f'<sst xmlns="{main}"><si><t>{note}</t></si></sst>'.encode(),
    })
    assert len(workbook) < 50_000  # while its cells hold 2,000 x 15,000 bytes = 30 MB
    message = refusal(workbook, "list.xlsx", max_bytes=1_000_000)
    # 67 rows of about 15,014 bytes pass 1,000,000; the first is Excel row 2, so the 67th is row 68.
    assert message.startswith("By row 68 the workbook already holds more text than the limit")
    assert len(read(workbook, "list.xlsx", max_bytes=40_000_000, max_rows=5_000).rows) == 2_000


@pytest.mark.parametrize("part", ["xl/worksheets/sheet2.xml", "xl/strings.xml", "xl/styles2.xml"])
def test_a_workbook_of_more_elements_than_its_rows_can_need_is_refused_whatever_the_parts_are_called(
        part, monkeypatch):
    from approvals.intake import lists

    monkeypatch.setattr(lists, "XLSX_BASE_ELEMENTS", 0)  # only the rows' share: 50 per row of max_rows=100
    workbook = xlsx([["email", "name"], *([f"a{i}@example.jp", f"名前{i}"] for i in range(90))])
    assert len(read(workbook, "list.xlsx").rows) == 90  # its theme, styles and rows: under 5,050
    rng = random.Random(5)
    junk = ("<x>" + "".join(f'<y a="{rng.randrange(100)}"/>' for _ in range(5_000)) + "</x>").encode()
    with zipfile.ZipFile(io.BytesIO(workbook)) as source:
        padded = zip_of({**{name: source.read(name) for name in source.namelist()}, part: junk})
    message = refusal(padded, "list.xlsx")
    assert message.startswith("The workbook is too large to read here: it holds more than 5,050 entries.")
    assert "CSV UTF-8" in message


def test_elements_are_counted_exactly_when_an_end_tag_is_split_between_chunks():
    from approvals.intake.lists import _elements_in

    head = b"<worksheet><sheetData>"
    # A "</" straddles the first 1 MiB boundary: "<" is its last byte, "/" the next chunk's first.
    filler = b"<x>" + b"a" * ((1 << 20) - len(head) - 4) + b"<"
    xml = head + filler + b"/x></sheetData></worksheet>"
    assert xml[(1 << 20) - 1:(1 << 20) + 1] == b"</"
    archive = zipfile.ZipFile(io.BytesIO(zip_of({"xl/worksheets/sheet1.xml": xml})))
    assert _elements_in(archive, archive.getinfo("xl/worksheets/sheet1.xml"), 10**9) == (3, False)
    # With a budget of exactly 3, the "<" that ends the first chunk is not counted as a fourth element.
    assert _elements_in(archive, archive.getinfo("xl/worksheets/sheet1.xml"), 3) == (3, False)


def test_an_unmarked_space_at_the_start_of_a_text_is_found_when_split_between_chunks():
    from approvals.intake.lists import _elements_in

    head, before_run = b"<sst><si><t>", b"</t><r>"
    text = b"a" * ((1 << 20) - 2 - len(head) - len(before_run))
    xml = head + text + before_run + "<t> 太郎</t></r></si></sst>".encode()
    assert xml[(1 << 20) - 2:(1 << 20) + 2] == b"<t> "  # "<t" ends the first chunk, "> " starts the next
    archive = zipfile.ZipFile(io.BytesIO(zip_of({"xl/sharedStrings.xml": xml, "xl/drawings/d.xml": b"<t> x</t>"})))
    assert _elements_in(archive, archive.getinfo("xl/sharedStrings.xml"), 10**9) == (5, True)
    assert _elements_in(archive, archive.getinfo("xl/drawings/d.xml"), 10**9) == (1, False)  # holds no cell text

    # A text that ends in a space, begun in one chunk and ended in the next: found, unless it is marked.
    head = b"<sst><si><t>" + b"a" * ((1 << 20) - 100) + b"</t></si><si><r><t>"
    for start_tag, found in ((b"<t>", True), (b'<t xml:space="preserve">', False)):
        xml = head.replace(b"<r><t>", b"<r>" + start_tag) + "山田".encode() * 1000 + b" </t></r></si></sst>"
        archive = zipfile.ZipFile(io.BytesIO(zip_of({"xl/sharedStrings.xml": xml})))
        assert _elements_in(archive, archive.getinfo("xl/sharedStrings.xml"), 10**9)[1] is found
