"""The organisation's own rules: how a keyword or an RE2 pattern is compiled and matched.

Patterns come from people, so they run on RE2 (``google-re2``): matching time grows
linearly with the text, whatever the pattern, and constructs RE2 cannot run in linear
time (look-around, back-references) are refused when the rule is saved or imported.
Text is compared after NFKC normalisation (full-width "ＣＯＮＦＩＤＥＮＴＩＡＬ" and
half-width "ﾏﾙﾋ" match their ordinary forms), case-insensitively; what people typed is
never changed, only the copy that is compared.
"""

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import re2
from django.utils.translation import gettext as _

KEYWORD = "keyword"
PATTERN = "pattern"
# RE2 refuses to build automata larger than this for one pattern.
PATTERN_MAX_MEMORY = 8 << 20
SNIPPET_CHARS = 40


class RuleError(ValueError):
    """A rule that cannot be used; the message says why, in the reader's language."""


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def fold(text: str) -> str:
    return normalise(text).casefold()


@dataclass(frozen=True)
class Prepared:
    """A text normalised once for every rule that looks at it."""

    normalised: str
    folded: str


def prepare(text: str) -> Prepared:
    normalised = normalise(text)
    return Prepared(normalised, normalised.casefold())


@dataclass(frozen=True)
class Matcher:
    """Finds the first match of one rule in a prepared text: what matched, or ``None``."""

    find: Callable[[Prepared], str | None]


def compile_rule(match: str, expression: str) -> Matcher:
    """A matcher for a keyword or a pattern; RuleError when the expression cannot be used."""
    if not expression.strip():
        raise RuleError(_("Enter a keyword or a pattern."))
    if match == KEYWORD:
        return _keyword_matcher(expression)
    if match == PATTERN:
        return _pattern_matcher(expression)
    raise RuleError(_("Choose “keyword” or “pattern”."))


def _keyword_matcher(keyword: str) -> Matcher:
    folded = fold(keyword.strip())

    def find(text: Prepared) -> str | None:
        return folded if folded in text.folded else None
    return Matcher(find)


def _pattern_matcher(pattern: str) -> Matcher:
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = False
    options.max_mem = PATTERN_MAX_MEMORY
    try:
        compiled = re2.compile(pattern, options)
    except re2.error as err:
        detail = err.args[0].decode("utf-8", "replace") if err.args and isinstance(err.args[0], bytes) else str(err)
        raise RuleError(
            _("The pattern cannot be used (%(detail)s). Patterns use RE2 syntax, which has no look-ahead, "
              "look-behind or back-references.") % {"detail": detail}) from err
    if compiled.search("") is not None:
        raise RuleError(_("The pattern also matches empty text, so it would fire on every message. "
                          "Make it match at least one character."))

    def find(text: Prepared) -> str | None:
        found = compiled.search(text.normalised)
        return None if found is None else found.group()[:SNIPPET_CHARS]
    return Matcher(find)


def domain_matcher(match: str, expression: str) -> Callable[[str], bool]:
    """For recipient domains: a keyword matches the domain and its subdomains, a pattern searches it."""
    if match == KEYWORD:
        wanted = fold(expression.strip()).lstrip("@.")
        return lambda domain: domain == wanted or domain.endswith("." + wanted)
    matcher = compile_rule(match, expression)
    return lambda domain: matcher.find(prepare(domain)) is not None
