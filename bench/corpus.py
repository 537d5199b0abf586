"""Realistic Japanese member lists and the files they hide in, generated from a seed.

Used by ``bench/guards_eval.py`` (recall and false alarms of the guards) and by
the incident tests. Nothing here was tuned to the guards: the lists look like
what Japanese offices keep (kanji names with their kana readings, shared family
names, families at one provider, carrier and ISP mailboxes, numbered addresses
such as sato12 / sato13, initials such as m-takahashi / i-takahashi, a
municipality's own lg.jp domain, schools and ministries), and the faults are
injected the way they happen (a cell deleted in one column, one column sorted on
its own, a look-alike domain typed, the list pasted into a file).
"""

from __future__ import annotations

import csv
import io
import random
import zipfile
from dataclasses import dataclass

# (kanji, kana, romaji) — common family names, with the spellings people use in addresses.
FAMILY = [
    ("佐藤", "サトウ", "sato"), ("鈴木", "スズキ", "suzuki"), ("高橋", "タカハシ", "takahashi"),
    ("田中", "タナカ", "tanaka"), ("伊藤", "イトウ", "ito"), ("渡辺", "ワタナベ", "watanabe"),
    ("山本", "ヤマモト", "yamamoto"), ("中村", "ナカムラ", "nakamura"), ("小林", "コバヤシ", "kobayashi"),
    ("加藤", "カトウ", "kato"), ("吉田", "ヨシダ", "yoshida"), ("山田", "ヤマダ", "yamada"),
    ("佐々木", "ササキ", "sasaki"), ("山口", "ヤマグチ", "yamaguchi"), ("松本", "マツモト", "matsumoto"),
    ("井上", "イノウエ", "inoue"), ("木村", "キムラ", "kimura"), ("林", "ハヤシ", "hayashi"),
    ("斎藤", "サイトウ", "saito"), ("清水", "シミズ", "shimizu"), ("山崎", "ヤマザキ", "yamazaki"),
    ("森", "モリ", "mori"), ("池田", "イケダ", "ikeda"), ("橋本", "ハシモト", "hashimoto"),
    ("阿部", "アベ", "abe"), ("石川", "イシカワ", "ishikawa"), ("山下", "ヤマシタ", "yamashita"),
    ("中島", "ナカジマ", "nakajima"), ("石井", "イシイ", "ishii"), ("小川", "オガワ", "ogawa"),
    ("前田", "マエダ", "maeda"), ("岡田", "オカダ", "okada"), ("長谷川", "ハセガワ", "hasegawa"),
    ("藤田", "フジタ", "fujita"), ("後藤", "ゴトウ", "goto"), ("近藤", "コンドウ", "kondo"),
    ("村上", "ムラカミ", "murakami"), ("遠藤", "エンドウ", "endo"), ("青木", "アオキ", "aoki"),
    ("坂本", "サカモト", "sakamoto"), ("福田", "フクダ", "fukuda"), ("太田", "オオタ", "ota"),
    ("西村", "ニシムラ", "nishimura"), ("藤井", "フジイ", "fujii"), ("金子", "カネコ", "kaneko"),
    ("岡本", "オカモト", "okamoto"), ("藤原", "フジワラ", "fujiwara"), ("中野", "ナカノ", "nakano"),
    ("三浦", "ミウラ", "miura"), ("原田", "ハラダ", "harada"), ("松田", "マツダ", "matsuda"),
    ("竹内", "タケウチ", "takeuchi"), ("小野", "オノ", "ono"), ("田村", "タムラ", "tamura"),
    ("中川", "ナカガワ", "nakagawa"), ("和田", "ワダ", "wada"), ("石田", "イシダ", "ishida"),
    ("上田", "ウエダ", "ueda"), ("森田", "モリタ", "morita"), ("髙橋", "タカハシ", "takahashi"),
]
GIVEN = [
    ("太郎", "タロウ", "taro"), ("花子", "ハナコ", "hanako"), ("一郎", "イチロウ", "ichiro"),
    ("美咲", "ミサキ", "misaki"), ("健太", "ケンタ", "kenta"), ("さくら", "サクラ", "sakura"),
    ("翔", "ショウ", "sho"), ("陽菜", "ヒナ", "hina"), ("大輔", "ダイスケ", "daisuke"),
    ("結衣", "ユイ", "yui"), ("拓海", "タクミ", "takumi"), ("彩", "アヤ", "aya"),
    ("誠", "マコト", "makoto"), ("恵", "メグミ", "megumi"), ("直樹", "ナオキ", "naoki"),
    ("裕子", "ユウコ", "yuko"), ("浩", "ヒロシ", "hiroshi"), ("洋子", "ヨウコ", "yoko"),
    ("修", "オサム", "osamu"), ("真由美", "マユミ", "mayumi"), ("和也", "カズヤ", "kazuya"),
    ("由美", "ユミ", "yumi"), ("翔太", "ショウタ", "shota"), ("愛", "アイ", "ai"),
    ("隆", "タカシ", "takashi"), ("明美", "アケミ", "akemi"), ("健一", "ケンイチ", "kenichi"),
    ("久美子", "クミコ", "kumiko"), ("大翔", "ヒロト", "hiroto"), ("葵", "アオイ", "aoi"),
    ("蓮", "レン", "ren"), ("陽子", "ヨウコ", "yoko"), ("剛", "ツヨシ", "tsuyoshi"),
    ("千尋", "チヒロ", "chihiro"), ("純一", "ジュンイチ", "junichi"), ("智子", "トモコ", "tomoko"),
    ("正樹", "マサキ", "masaki"), ("美穂", "ミホ", "miho"), ("亮", "リョウ", "ryo"),
    ("優子", "ユウコ", "yuko"), ("達也", "タツヤ", "tatsuya"), ("奈々", "ナナ", "nana"),
    ("康弘", "ヤスヒロ", "yasuhiro"), ("理恵", "リエ", "rie"), ("悠斗", "ユウト", "yuto"),
    ("舞", "マイ", "mai"), ("勇気", "ユウキ", "yuki"), ("沙織", "サオリ", "saori"),
    ("雄一", "ユウイチ", "yuichi"), ("麻衣", "マイ", "mai"), ("聡", "サトシ", "satoshi"),
    ("香織", "カオリ", "kaori"), ("博之", "ヒロユキ", "hiroyuki"), ("紀子", "ノリコ", "noriko"),
]
WORDS = ["happy", "blue", "sky", "star", "moon", "sun", "cat", "dog", "sea", "hana", "sakura", "tomo", "yume",
         "kaze", "mint", "choco", "lucky", "smile", "green", "ocean", "peace", "rabbit", "panda", "coffee"]
PREFECTURES = ["東京都", "神奈川県", "大阪府", "愛知県", "埼玉県", "千葉県", "兵庫県", "北海道", "福岡県", "静岡県"]

# Where members' mailboxes are, with roughly the shares a Japanese member list shows.
PROVIDERS = [
    ("gmail.com", 18), ("yahoo.co.jp", 12), ("docomo.ne.jp", 13), ("ezweb.ne.jp", 7), ("au.com", 4),
    ("softbank.ne.jp", 5), ("i.softbank.jp", 4), ("icloud.com", 6), ("outlook.jp", 2), ("hotmail.co.jp", 2),
    ("nifty.com", 2), ("biglobe.ne.jp", 2), ("ocn.ne.jp", 2), ("so-net.ne.jp", 1), ("plala.or.jp", 1),
    ("jcom.home.ne.jp", 1), ("ybb.ne.jp", 1),
]
ORGANISATION = "city.minato-kita.lg.jp"  # the municipality that keeps the list; its staff are members too
PUBLIC = ["pref.kanagawa.lg.jp", "mext.go.jp", "mhlw.go.jp", "u-tokyo.ac.jp", "keio.ac.jp", "kita.ed.jp",
          "city.yokohama.lg.jp", "waseda.jp"]
COMPANIES = ["mitsubachi.co.jp", "sakura-denki.co.jp", "aozora-bank.co.jp", "tokai-shoji.co.jp",
             "kitano-kensetsu.co.jp", "hikari-net.ne.jp", "midori.or.jp", "yamato-unyu.co.jp",
             "fujimi-foods.co.jp", "kobe-steel-works.co.jp", "example-corp.com", "nagomi-design.jp"]
COLUMNS = ["会員番号", "氏名", "フリガナ", "メールアドレス", "都道府県", "電話番号"]


@dataclass
class Person:
    family: tuple[str, str, str]
    given: tuple[str, str, str]
    nospace: bool = False

    @property
    def name(self) -> str:
        return self.family[0] + ("" if self.nospace else " ") + self.given[0]

    @property
    def kana(self) -> str:
        return f"{self.family[1]} {self.given[1]}"


def _local_part(rng: random.Random, person: Person, used: set[str]) -> str:
    f, g = person.family[2], person.given[2]
    style = rng.random()
    if style < 0.16:
        local = f"{g}.{f}"
    elif style < 0.28:
        local = f"{f}.{g}"
    elif style < 0.36:
        local = f"{g[0]}-{f}"  # m-takahashi, i-takahashi
    elif style < 0.42:
        local = f"{f}_{g[0]}"
    elif style < 0.48:
        local = f"{g}{f}"
    elif style < 0.58:
        local = f"{f}{rng.randint(1, 99)}"  # sato12, sato13
    elif style < 0.66:
        local = f"{g}{rng.choice(['', '.'])}{rng.randint(1960, 2012)}"
    elif style < 0.72:
        local = f"{g[0]}.{f}{rng.randint(1, 9)}"
    elif style < 0.86:
        local = f"{rng.choice(WORDS)}{rng.choice(['', '.', '_', '-'])}{rng.choice(WORDS)}{rng.randint(1, 999)}"
    else:  # carrier style: letters and digits nobody could tell a name from
        local = "".join(rng.choices("abcdefghijkmnpqrstuvwxyz0123456789", k=rng.randint(8, 12)))
        if rng.random() < 0.3:
            local += f".{rng.randint(10, 9999)}"
    # One mailbox per local part (Gmail ignores dots: taro.sato and tarosato are one mailbox).
    while local in used or local.replace(".", "") in used:
        local += str(rng.randint(0, 9))
    used.update({local, local.replace(".", "")})
    return local


def _domain(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.08:
        return ORGANISATION
    if roll < 0.12:
        return rng.choice(PUBLIC)
    if roll < 0.18:
        return rng.choice(COMPANIES)
    domains, weights = zip(*PROVIDERS, strict=True)
    return rng.choices(domains, weights)[0]


def clean_members(count: int, seed: int) -> list[dict[str, str]]:
    """A correct member list: every name belongs to its address's row."""
    rng = random.Random(seed)
    used: dict[str, set[str]] = {}
    rows: list[dict[str, str]] = []
    while len(rows) < count:
        family = rng.choice(FAMILY)
        # Families: a few members of one household, often at one provider.
        household = rng.choices([1, 2, 3, 4], [88, 8, 3, 1])[0]
        domain = _domain(rng)
        for _member in range(household):
            if len(rows) >= count:
                break
            person = Person(family, rng.choice(GIVEN), nospace=rng.random() < 0.15)
            if _member and rng.random() < 0.5:
                domain = _domain(rng)
            local = _local_part(rng, person, used.setdefault(domain, set()))
            rows.append({
                "会員番号": f"M{100000 + len(rows):06d}",
                "氏名": person.name,
                "フリガナ": person.kana,
                "メールアドレス": f"{local}@{domain}",
                "都道府県": rng.choice(PREFECTURES),
                "電話番号": f"0{rng.choice('789')}0-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
            })
    return rows


def csv_bytes(rows: list[dict[str, str]], encoding: str = "cp932", columns: list[str] | None = None) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns or list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def renamed(rows: list[dict[str, str]], old: str, new: str) -> list[dict[str, str]]:
    return [{(new if key == old else key): value for key, value in row.items()} for row in rows]


# --- Faults ------------------------------------------------------------------------------


def shift(rows: list[dict[str, str]], column: str, start: int, length: int, offset: int) -> list[dict[str, str]]:
    """Column values of rows start..start+length-1 taken from offset rows further (a cell deleted or inserted)."""
    values = [row[column] for row in rows]
    out = [dict(row) for row in rows]
    for i in range(start, min(start + length, len(rows))):
        source = i + offset
        if 0 <= source < len(rows):
            out[i][column] = values[source]
    return out


def sort_block(rows: list[dict[str, str]], column: str, start: int, length: int) -> list[dict[str, str]]:
    """One column of a block sorted on its own, the others left in place."""
    out = [dict(row) for row in rows]
    block = sorted(row[column] for row in rows[start:start + length])
    for i, value in enumerate(block):
        out[start + i][column] = value
    return out


CONFUSIONS = {  # a frequent domain -> the look-alikes people type or are shown
    "docomo.ne.jp": ["docorno.ne.jp", "d0como.ne.jp", "docomo.ne.jo", "docomo-ne.jp", "docomo.ne.ip"],
    "gmail.com": ["grnail.com", "gmai1.com", "gmail.con", "gmail.cm", "gmaii.com"],
    ORGANISATION: ["city.minato-kita.1g.jp", "city.rninato-kita.lg.jp", "city-minato-kita.lg.jp",
                   "city.minato-kita.lg.jpp", "city.minato-kita.ig.jp", "clty.minato-kita.lg.jp",
                   "city.minato.kita.lg.jp", "city.minato-klta.lg.jp"],
    "yahoo.co.jp": ["yahoo.co.jo", "yah0o.co.jp", "yahoo.cojp", "yahoo-co.jp"],
    "ezweb.ne.jp": ["ezvveb.ne.jp", "ezweb.ne.jpp", "ezwed.ne.jp"],
}


def with_domain(rows: list[dict[str, str]], index: int, domain: str) -> list[dict[str, str]]:
    out = [dict(row) for row in rows]
    local = out[index]["メールアドレス"].rpartition("@")[0]
    out[index]["メールアドレス"] = f"{local}@{domain}"
    return out


def duplicated_with_typo(rows: list[dict[str, str]], index: int, rng: random.Random) -> list[dict[str, str]]:
    """The same person entered twice, the second time with the address mistyped."""
    out = [dict(row) for row in rows]
    twin = dict(out[index])
    local, _at, domain = twin["メールアドレス"].rpartition("@")
    position = rng.randrange(1, len(local) - 1)
    kinds = ["swap", "double", "zero"] if "o" in local else ["swap", "double"]
    kind = rng.choice(kinds)
    if kind == "swap" and local[position] != local[position + 1]:
        local = local[:position] + local[position + 1] + local[position] + local[position + 2:]
    elif kind == "zero":
        local = local.replace("o", "0", 1)
    else:
        local = local[:position] + local[position] + local[position:]
    twin["メールアドレス"] = f"{local}@{domain}"
    twin["会員番号"] = f"M{900000 + index:06d}"
    out.insert(index + rng.randint(1, 30), twin)
    return out


# --- Files that carry the list ---------------------------------------------------------------


def list_text(rows: list[dict[str, str]], count: int = 25) -> str:
    return "\n".join(f"{row['氏名']},{row['メールアドレス']},{row['会員番号']}" for row in rows[:count])


def pdf_file(*, embedded: bytes | None = None, annotation: str = "", form_value: str = "",
             open_action_js: bool = False, launch: bool = False) -> bytes:
    from pypdf import PdfWriter
    from pypdf.annotations import Text
    from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject, TextStringObject

    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    if embedded is not None:
        writer.add_attachment("members.csv", embedded)
    if annotation:
        writer.add_annotation(page_number=0, annotation=Text(rect=(50, 550, 200, 650), text=annotation))
    if form_value:
        field = DictionaryObject({
            NameObject("/FT"): NameObject("/Tx"), NameObject("/T"): TextStringObject("memo"),
            NameObject("/V"): TextStringObject(form_value), NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Widget"),
            NameObject("/Rect"): ArrayObject([FloatObject(50), FloatObject(50), FloatObject(300), FloatObject(80)]),
        })
        reference = writer._add_object(field)
        writer.pages[0][NameObject("/Annots")] = ArrayObject([reference])
        form = DictionaryObject({NameObject("/Fields"): ArrayObject([reference])})
        writer._root_object[NameObject("/AcroForm")] = form
    if open_action_js or launch:
        action = (DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                                    NameObject("/JS"): TextStringObject("app.alert('hi')")}) if open_action_js else
                  DictionaryObject({NameObject("/S"): NameObject("/Launch"),
                                    NameObject("/F"): TextStringObject("cmd.exe")}))
        writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def docx_file(*, textbox: str = "", comment: str = "", footnote: str = "", header: str = "",
              embedded_csv: bytes | None = None) -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph("会報11月号：秋の市民まつりのお知らせ")
    if header:
        document.sections[0].header.paragraphs[0].text = header
    if comment:
        paragraph = document.add_paragraph("詳しくは添付をご覧ください。")
        document.add_comment(paragraph.runs, text=comment, author="事務局")
    buffer = io.BytesIO()
    document.save(buffer)
    parts = _unzip(buffer.getvalue())
    if textbox:
        lines = "".join(f"<w:p><w:r><w:t>{line}</w:t></w:r></w:p>" for line in textbox.splitlines())
        box = (f'<w:p><w:r><w:pict><v:shape xmlns:v="urn:schemas-microsoft-com:vml"><v:textbox>'
               f"<w:txbxContent>{lines}</w:txbxContent></v:textbox></v:shape></w:pict></w:r></w:p>")
        xml = parts["word/document.xml"].decode()
        at = xml.rindex("<w:sectPr")
        parts["word/document.xml"] = (xml[:at] + box + xml[at:]).encode()
    if footnote:
        lines = "".join(f"<w:p><w:r><w:t>{line}</w:t></w:r></w:p>" for line in footnote.splitlines())
        parts["word/footnotes.xml"] = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                                       f'<w:footnotes xmlns:w="{_W}"><w:footnote w:id="1">{lines}</w:footnote>'
                                       f"</w:footnotes>").encode()
    if embedded_csv is not None:
        parts["word/embeddings/members.csv"] = embedded_csv
    return _zip(parts)


def xlsx_file(*, comment: str = "", hidden_sheet: list[list[str]] | None = None,
              second_sheet: list[list[str]] | None = None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.comments import Comment

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "予定"
    sheet.append(["日付", "行事"])
    sheet.append(["11月3日", "市民まつり"])
    if comment:
        sheet["B2"].comment = Comment(comment, "事務局")
    for rows, state in ((hidden_sheet, "hidden"), (second_sheet, "visible")):
        if rows:
            extra = workbook.create_sheet("data" if state == "hidden" else "参加者")
            extra.sheet_state = state
            for row in rows:
                extra.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


_P = "http://schemas.openxmlformats.org/presentationml/2006/main"
_A = "http://schemas.openxmlformats.org/drawingml/2006/main"


def pptx_file(*, notes: str = "") -> bytes:
    def slide(root: str, text: str) -> bytes:
        paragraphs = "".join(f"<a:p><a:r><a:t>{line}</a:t></a:r></a:p>" for line in text.splitlines())
        return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><p:{root} xmlns:p="{_P}" xmlns:a="{_A}">'
                f"<p:cSld><p:spTree><p:sp><p:txBody>{paragraphs}</p:txBody></p:sp></p:spTree></p:cSld>"
                f"</p:{root}>").encode()

    parts = {
        "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
                               b'2006/content-types"/>',
        "ppt/presentation.xml": f'<?xml version="1.0"?><p:presentation xmlns:p="{_P}"/>'.encode(),
        "ppt/slides/slide1.xml": slide("sld", "市民まつりのご案内"),
    }
    if notes:
        parts["ppt/notesSlides/notesSlide1.xml"] = slide("notes", notes)
    return _zip(parts)


def zip_file(members: dict[str, bytes]) -> bytes:
    return _zip(members)


def _unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def hidden_list_files(rows: list[dict[str, str]]) -> dict[str, tuple[str, bytes]]:
    """A variant name -> (file name, bytes) for every place a list hides in."""
    text = list_text(rows)
    table = [[row["氏名"], row["メールアドレス"], row["会員番号"]] for row in rows[:25]]
    csv_data = text.encode("cp932")
    return {
        "pdf embedded file": ("会報.pdf", pdf_file(embedded=csv_data)),
        "pdf annotation": ("会報.pdf", pdf_file(annotation=text)),
        "pdf form field": ("申込書.pdf", pdf_file(form_value=text)),
        "docx text box": ("会報.docx", docx_file(textbox=text)),
        "docx comment": ("会報.docx", docx_file(comment=text)),
        "docx footnote": ("会報.docx", docx_file(footnote=text)),
        "docx header": ("会報.docx", docx_file(header=text.replace("\n", " / "))),
        "docx embedded csv": ("会報.docx", docx_file(embedded_csv=csv_data)),
        "xlsx cell comment": ("予定表.xlsx", xlsx_file(comment=text)),
        "xlsx hidden sheet": ("予定表.xlsx", xlsx_file(hidden_sheet=table)),
        "xlsx second sheet": ("予定表.xlsx", xlsx_file(second_sheet=table)),
        "pptx notes": ("案内.pptx", pptx_file(notes=text)),
        "zip in zip": ("資料.zip", zip_file({"inner.zip": zip_file({"data.csv": csv_data})})),
        "docx in zip": ("資料.zip", zip_file({"会報.docx": docx_file(textbox=text)})),
    }
