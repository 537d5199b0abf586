"""Romanising names (kanji and kana with pykakasi, Hepburn) and reading names out of addresses.

Both sides are folded to one spelling of the usual romanisation variants
(satou / sato / satoh, shinbashi / simbasi, chihiro / tihiro) before they are
compared. Everything is cached per name part: lists repeat family names.
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

MIN_TOKEN = 3  # shorter name parts ("o", "li") match too many addresses by chance

# --- Romanisation ------------------------------------------------------------------

_kakasi = None


def _converter():
    """The pykakasi converter, created on first use (loading its dictionaries takes a moment)."""
    global _kakasi
    if _kakasi is None:
        import pykakasi

        _kakasi = pykakasi.kakasi()
    return _kakasi


# Variant kanji that pykakasi does not know (it drops them or repeats the neighbour).
_ITAIJI = str.maketrans({"髙": "高", "﨑": "崎", "𠮷": "吉", "濵": "浜", "德": "徳", "瀨": "瀬"})
# Honorifics and titles that are not part of anyone's name.
_HONORIFICS = re.compile(r"(様|さま|殿|どの|さん|君|くん|ちゃん|先生|御中|各位)$")
_NAME_SEPARATORS = re.compile(r"[\s,、，・･/／()（）\[\]「」【】.。:：;；]+")
_LETTERS = re.compile(r"[a-z]+")
_CJK_OR_KANA = re.compile(r"^[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff々〆ヶ]+$")

# Spellings of the same syllables: Hepburn, Kunrei and what people type in addresses
# (satou / sato / satoh, shinbashi / simbasi, chihiro / tihiro). Both the names and
# the addresses are folded to one form before they are compared.
_CONSONANT_FORMS = (("shi", "si"), ("chi", "ti"), ("tsu", "tu"), ("sh", "sy"), ("ch", "ty"), ("ji", "zi"),
                    ("j", "zy"), ("fu", "hu"), ("mb", "nb"), ("mp", "np"), ("mm", "nm"))
_LONG_O = re.compile(r"o[ouh]+")
_LONG_U = re.compile(r"uu+")


@lru_cache(maxsize=200_000)
def fold_romaji(word: str) -> str:
    """One spelling for the romanisation variants of a lowercase word: ``satou``, ``satoh`` → ``sato``."""
    for variant, form in _CONSONANT_FORMS:
        if variant in word:
            word = word.replace(variant, form)
    if "o" in word:
        word = _LONG_O.sub("o", word)
    if "uu" in word:
        word = _LONG_U.sub("u", word)
    return word


def _latin_words(text: str) -> list[str]:
    return _LETTERS.findall(text.lower())


@lru_cache(maxsize=100_000)
def _kakasi_words(text: str) -> tuple[tuple[str, str], ...]:
    """(original, hepburn) for each word pykakasi finds in text."""
    return tuple((item["orig"], item["hepburn"]) for item in _converter().convert(text))


# First words of names written without a space (山田太郎 -> 山田), learned as they are
# romanised, so that the next 山田… only needs its given name converted.
_learned_family: dict[str, str] = {}
_LEARNED_MAX = 50_000


@lru_cache(maxsize=200_000)
def _segments(part: str) -> tuple[str, ...]:
    """The romanised words (Hepburn, lowercase letters) of one part of a name, as pykakasi splits it."""
    part = part.translate(_ITAIJI)
    if part.isascii():
        return tuple(_latin_words(part))
    if len(part) >= 3 and _CJK_OR_KANA.match(part):
        for length in (3, 2):
            head = _learned_family.get(part[:length])
            if head is not None:
                return (head, *_segments(part[length:]))
    words = _kakasi_words(part)
    if len(words) >= 2 and len(words[0][0]) >= 2 and _CJK_OR_KANA.match(part) and len(_learned_family) < _LEARNED_MAX:
        _learned_family[words[0][0]] = "".join(_latin_words(words[0][1]))
    return tuple(w for _, hepburn in words for w in _latin_words(hepburn))


@dataclass(frozen=True)
class NameKey:
    tokens: frozenset[str]  # the family and given name, romanised and folded, and the whole name
    full: str  # the whole romanised name without spaces
    words: tuple[str, ...] = ()  # the name's words in order (family, given), romanised and folded

    @property
    def orders(self) -> tuple[str, ...]:
        """The whole name in both orders: satotaro and tarosato."""
        if len(self.words) == 2:
            return (self.full, self.words[1] + self.words[0])
        return (self.full,) if self.full else ()


@lru_cache(maxsize=200_000)
def name_key(display_name: str) -> NameKey:
    """What to look for in an address for this display name (cached: names repeat across rows).

    Each part of a name written with spaces is one word (純一 is ``zyuniti``, not
    ``zyun`` and ``iti``); a Japanese name written without a space is split after
    the family name pykakasi finds (中島みゆき: ``nakazima``, ``miyuki``).
    """
    text = unicodedata.normalize("NFKC", display_name).strip()
    parts = [part for part in (_HONORIFICS.sub("", part) for part in _NAME_SEPARATORS.split(text)) if part]
    if len(parts) == 1 and not parts[0].isascii():
        segments = _segments(parts[0])
        words = [segments[0], "".join(segments[1:])] if len(segments) > 1 else list(segments)
    else:
        words = ["".join(_segments(part)) for part in parts]
    words = [fold_romaji(word) for word in words if word]
    full = "".join(words)
    tokens = {word for word in words if len(word) >= MIN_TOKEN}
    if len(full) >= MIN_TOKEN:
        tokens.add(full)
    return NameKey(frozenset(tokens), full, tuple(words))


@dataclass(frozen=True)
class AddressKey:
    words: str  # the local part's letter runs, folded, joined with "."
    letters: str  # the same without separators


@lru_cache(maxsize=200_000)
def address_key(email: str) -> AddressKey:
    local = email.rpartition("@")[0].lower()
    words = [fold_romaji(w) for w in _LETTERS.findall(local)]
    return AddressKey(".".join(words), "".join(words))




_NAME_SHAPE = re.compile(r"[^\d@＠:/\\<>{}=%#$&*+|~^]{1,40}")


@lru_cache(maxsize=200_000)  # asked for each row of every near pair: once per name is enough
def looks_like_name(value: str) -> bool:
    """Short text of letters, kanji or kana in at most four words: what a person's name looks like."""
    text = value.strip()
    return bool(text) and _NAME_SHAPE.fullmatch(text) is not None and len(text.split()) <= 4
