"""The merge-field language: ``{{column}}`` placeholders over the list's columns, nothing else.

A drafter's text is untrusted, so this is deliberately not a template engine:
there are no filters, attribute lookups, tags or expressions, and nothing is ever
evaluated. ``{{ name }}`` is replaced by that row's value of column ``name``;
a placeholder whose name is not a column, or that looks like template code
(``{{ a.b }}``, ``{{ x|upper }}``), is an error the drafter sees before submission.
Text outside placeholders, including ``{% ... %}``, is literal.
"""

import html
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
# A field name: anything a spreadsheet header can hold except the characters
# that template languages use for lookups, filters and tags.
FIELD_NAME = re.compile(r"^[^{}|.%\[\]()\"'\\\n\r\t]+$")


class MergeError(ValueError):
    """A placeholder that cannot be used; the message says what to change."""


@dataclass(frozen=True)
class Placeholder:
    raw: str
    name: str


def placeholders(text: str) -> list[Placeholder]:
    """Every ``{{...}}`` in text, in order, with the name stripped of surrounding spaces."""
    return [Placeholder(m.group(0), m.group(1).strip()) for m in PLACEHOLDER.finditer(text)]


def check_template(text: str, columns: list[str]) -> list[str]:
    """Human-readable problems with the placeholders in text; empty when all are usable."""
    known = set(columns)
    problems = []
    for placeholder in placeholders(text):
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


def used_fields(*texts: str) -> set[str]:
    """The column names the texts refer to (valid or not)."""
    return {p.name for text in texts for p in placeholders(text)}


def render(text: str, row: dict[str, str], *, escape_html: bool = False) -> str:
    """Replace each placeholder by the row's value. Raises MergeError for an unknown field."""

    def substitute(match: re.Match) -> str:
        name = match.group(1).strip()
        if not FIELD_NAME.match(name) or name not in row:
            raise MergeError(_("Unknown merge field %(placeholder)s.") % {"placeholder": match.group(0)})
        value = str(row[name] if row[name] is not None else "")
        return html.escape(value) if escape_html else value

    return PLACEHOLDER.sub(substitute, text)


def render_header(text: str, row: dict[str, str]) -> str:
    """Render a header value; a merged value with a line break would inject headers."""
    value = render(text, row)
    if "\r" in value or "\n" in value:
        raise MergeError(_("A merged value contains a line break, which is not allowed in a header."))
    return value
