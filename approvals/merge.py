"""The merge-field language: ``{{column}}`` placeholders over the list's columns, nothing else.

A drafter's text is untrusted, so this is deliberately not a template engine:
there are no filters, attribute lookups, tags or expressions, and nothing is ever
evaluated. ``{{ name }}`` is replaced by that row's value of column ``name``;
a placeholder whose name is not a column, or that looks like template code
(``{{ a.b }}``, ``{{ x|upper }}``), is an error the drafter sees before submission.
Text outside placeholders, including ``{% ... %}``, is literal.

Every function here runs in time linear in the length of the text, whatever the
text holds: a placeholder is the first ``{{`` and the first ``}}`` after it, found
with two ``str.find`` calls. (The regular expression ``\\{\\{(.*?)\\}\\}`` finds the
same placeholders, but it scans to the end of the text again from every unclosed
``{{``: an 80 KB body of unclosed braces took minutes.)
"""

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.utils.translation import gettext as _

OPEN, CLOSE = "{{", "}}"
# A field name: anything a spreadsheet header can hold except the characters
# that template languages use for lookups, filters and tags.
FIELD_NAME = re.compile(r"^[^{}|.%\[\]()\"'\\\n\r\t]+$")


class MergeError(ValueError):
    """A placeholder that cannot be used; the message says what to change."""


@dataclass(frozen=True)
class Placeholder:
    raw: str  # as written, braces included
    name: str  # stripped of surrounding spaces
    start: int = 0  # where ``raw`` starts and ends in the text
    end: int = 0


def scan(text: str) -> Iterator[Placeholder]:
    """Every ``{{...}}`` in text, in order, in one pass.

    Once a ``{{`` has no ``}}`` after it, no later one can have either, so the
    scan stops there instead of trying again from every later brace.
    """
    position = 0
    while True:
        start = text.find(OPEN, position)
        if start < 0:
            return
        close = text.find(CLOSE, start + len(OPEN))
        if close < 0:
            return
        end = close + len(CLOSE)
        yield Placeholder(text[start:end], text[start + len(OPEN):close].strip(), start, end)
        position = end


class _PlaceholderPattern:
    """``PLACEHOLDER.finditer(text)`` yields ``re.Match`` objects like the old regular expression did
    (group 0 the placeholder, group 1 its inside), found by ``scan`` so in linear time."""

    _ONE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)

    def finditer(self, text: str) -> Iterator[re.Match]:
        for placeholder in scan(text):
            # Anchored to one placeholder's span, the expression only reads that span.
            yield self._ONE.match(text, placeholder.start, placeholder.end)


PLACEHOLDER = _PlaceholderPattern()


def placeholders(text: str) -> list[Placeholder]:
    """Every ``{{...}}`` in text, in order, with the name stripped of surrounding spaces."""
    return list(scan(text))


def check_template(text: str, columns: list[str]) -> list[str]:
    """Human-readable problems with the placeholders in text; empty when all are usable."""
    known = set(columns)
    problems = []
    for placeholder in scan(text):
        if not FIELD_NAME.match(placeholder.name):
            problems.append(
                _("%(placeholder)s is not a merge field: use {{column name}} with a column "
                  "of the recipient list, nothing else.") % {"placeholder": placeholder.raw}
            )
        elif placeholder.name not in known:
            problems.append(
                _("%(placeholder)s: the recipient list has no column “%(name)s”. "
                  "Columns: %(columns)s.")
                % {"placeholder": placeholder.raw, "name": placeholder.name,
                   "columns": ", ".join(columns) or "—"}
            )
    return problems


def check_header_template(text: str) -> list[str]:
    """Problems with a template that becomes a header (the subject): a line break would end the header."""
    if "\r" in text or "\n" in text:
        return [_("The subject contains a line break. Write the subject on one line.")]
    return []


def used_fields(*texts: str) -> set[str]:
    """The column names the texts refer to (valid or not)."""
    return {p.name for text in texts for p in scan(text)}


def _substitute(text: str, value_of: Callable[[Placeholder], str]) -> str:
    parts: list[str] = []
    position = 0
    for placeholder in scan(text):
        parts.append(text[position:placeholder.start])
        parts.append(value_of(placeholder))
        position = placeholder.end
    parts.append(text[position:])
    return "".join(parts)


def render(text: str, row: dict[str, str], *, escape_html: bool = False) -> str:
    """Replace each placeholder by the row's value. Raises MergeError for an unknown field."""

    def value_of(placeholder: Placeholder) -> str:
        name = placeholder.name
        if not FIELD_NAME.match(name) or name not in row:
            raise MergeError(_("Unknown merge field %(placeholder)s.") % {"placeholder": placeholder.raw})
        value = str(row[name] if row[name] is not None else "")
        return html.escape(value) if escape_html else value

    return _substitute(text, value_of)


def render_header(text: str, row: dict[str, str]) -> str:
    """Render a header value; a line break, typed or merged, would inject headers."""
    problems = check_header_template(text)
    if problems:
        raise MergeError(problems[0])
    value = render(text, row)
    if "\r" in value or "\n" in value:
        raise MergeError(_("A merged value contains a line break, which is not allowed in a header."))
    return value
