"""Checks on the message: completeness and the merge fields it uses."""

from collections.abc import Iterator

from django.utils.translation import gettext as _

from .. import merge
from .context import PreflightContext
from .findings import Finding, Severity, row_summary


def message_is_complete(ctx: PreflightContext) -> Iterator[Finding]:
    if not ctx.campaign.subject.strip():
        yield Finding("message.no_subject", Severity.BLOCK, _("Write a subject."))
    if not ctx.campaign.body_text.strip():
        yield Finding("message.no_body", Severity.BLOCK, _("Write the plain-text body."))
    for problem in merge.check_header_template(ctx.campaign.subject):
        yield Finding("message.subject_line_break", Severity.BLOCK, problem)


def merge_fields_are_known(ctx: PreflightContext) -> Iterator[Finding]:
    c = ctx.campaign
    for label, text in ((_("Subject"), c.subject), (_("Plain-text body"), c.body_text), (_("HTML body"), c.body_html)):
        for problem in merge.check_template(text, c.columns):
            yield Finding("merge.unknown_field", Severity.BLOCK, f"{label}: {problem}")


def merged_headers_are_safe(ctx: PreflightContext) -> Iterator[Finding]:
    """A line break in a value that lands in a header would add headers (Cc, Bcc…): refuse it."""
    c = ctx.campaign
    header_columns = merge.used_fields(c.subject) | ({c.name_column} if c.name_column else set())
    bad_rows = [
        row.row_number for row in ctx.rows
        if any("\r" in (row.data.get(column) or "") or "\n" in (row.data.get(column) or "")
               for column in header_columns)
    ]
    if bad_rows:
        yield Finding(
            "merge.header_injection",
            Severity.BLOCK,
            _("Rows %(rows)s have a line break in a value that goes into the subject or the recipient's "
              "name. Remove the line breaks in the list and upload it again.") % {"rows": row_summary(bad_rows)},
            rows=tuple(bad_rows[:1000]),
        )
