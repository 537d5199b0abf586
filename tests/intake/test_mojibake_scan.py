"""The mojibake scan of uploaded lists: the fast form decides exactly as the plain one.

approvals.intake.lists skips work that cannot change the answer (the Latin check on text
without a possible UTF-8 lead character, counting recovered characters when errors
already outnumber the rest) and uses patterns the regex engine can skip through. The
plain rules below are the reference; any text must get the same verdict from both.
"""

import re

from hypothesis import example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from approvals.intake import lists

PLAIN_HALFWIDTH = re.compile("・?[ｽｾ][^\x00-\x7f](?:・?[ｽｾ][^\x00-\x7f]){2,}")
PLAIN_BEFORE_E = re.compile("([\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef])E(?![A-Za-z])")


def plain_looks_garbled(text: str) -> bool:
    if lists._UNTYPABLE.search(text) or PLAIN_HALFWIDTH.search(text) or plain_ghost_dots(text):
        return True
    return any(plain_line_looks_garbled(line) for line in text.splitlines() if not line.isascii())


def plain_ghost_dots(text: str) -> bool:
    for line in text.split("\n"):
        before_e = PLAIN_BEFORE_E.findall(line)
        ghosts = sum(ord(char) & 0x3F == 1 and char not in "、！" for char in before_e)
        if ghosts * 2 > len(before_e):
            return True
    return False


def plain_line_looks_garbled(line: str) -> bool:
    as_cp932 = line.encode("cp932", errors="replace")
    as_latin = b"?".join(bytes(lists._LATIN_BYTE[ch] for ch in run) for run in lists._LATIN_RUN.findall(line))
    return plain_reads_as_utf8(as_cp932, lists._JAPANESE) or plain_reads_as_utf8(as_latin, lists._NON_ASCII)


def plain_reads_as_utf8(raw: bytes, meaningful: re.Pattern[str]) -> bool:
    decoded = raw.decode("utf-8", errors="replace")
    recovered = len(meaningful.findall(decoded))
    return recovered >= 2 and recovered > decoded.count("\ufffd")


WORDS = ["山田太郎", "やまだ", "ﾔﾏﾀﾞ ﾀﾛｳ", "会員", "Núñez", "Müller", "café", "E", "、E", "a@example.jp", "①", "髙橋"]


def misread(word: str, codec: str) -> str:
    return word.encode("utf-8").decode(codec, errors="replace")


# Characters the rules look at, line breaks of every kind, NUL and ESC.
LOOSE = list("・ｽｾｱｲEeXÃã品チ‚\u00c2\u00f4\u00f5,\r\n 縺繧郁\u3041\x00\x1b\x85\x0b\u2028")
# Real words, the same words garbled the ways Excel and editors garble them, and loose pieces.
PIECES = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(WORDS).map(lambda word: misread(word, "cp932")),
    st.sampled_from(WORDS).map(lambda word: misread(word, "cp1252")),
    st.sampled_from(WORDS).map(lambda word: misread(word, "latin-1")),
    st.text(alphabet=st.sampled_from(LOOSE), max_size=8),
)
TEXT = st.lists(PIECES, max_size=12).map("".join)


@hypothesis_settings(max_examples=3000, deadline=None)
@given(TEXT)
@example("山田太郁E")
@example("本館E棟\n山田太郁E\n新館E棟")
@example("食品EXPO出展\n商品EC\n新商品EV\nランチEXPO")
@example("山田太郁E\n山田太郁EX")
@example("ありがとぁEございます、E")
@example("ã‚ã‚Š")
@example("縺ゅｊ縺後→縺")
@example("・ｽ・ｾ・ｽ・ｾ")
@example("Núñez,山田\nÃ©tÃ©")
@example("ascii,only\r\nrow\x1b$B,2")
@example("ascii,only\r\nrow\x00,2")
def test_the_fast_scan_decides_like_the_plain_rules(text):
    assert lists._looks_garbled(text) == plain_looks_garbled(text)


def test_the_examples_above_are_both_kinds():
    """The generator reaches both verdicts, so the comparison is not between two constant answers."""
    assert lists._looks_garbled(misread("山田太郎です。よろしくお願いします。", "cp932"))
    assert lists._looks_garbled(misread("山田太郎です。よろしくお願いします。", "cp1252"))
    assert not lists._looks_garbled("山田太郎,Núñez,café,ﾔﾏﾀﾞ ﾀﾛｳ,電話、Eメール")
    # A garbled row is not outvoted by real words in other rows.
    assert lists._looks_garbled("本館E棟\n山田太郁E\n新館E棟")
    # Words that start with E after a character ending in 0x81 (品 U+54C1, チ U+30C1) are words.
    assert not lists._looks_garbled("本館E棟\n食品EXPO出展\n商品EC\n新商品EV\nランチEXPO\nﾗﾝﾁEXPO")


@hypothesis_settings(max_examples=2000, deadline=None)
@given(st.lists(TEXT, max_size=6))
def test_text_looks_garbled_exactly_when_one_of_its_lines_does(lines):
    """A workbook's rows are scanned as one text, and the garbled row is looked for only then: every
    sign lies within a line, so the whole is garbled if and only if some row is."""
    assert lists._looks_garbled("\n".join(lines)) == any(lists._looks_garbled(line) for line in lines)
