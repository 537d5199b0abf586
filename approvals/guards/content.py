"""Checks on the message: completeness and the merge fields it uses."""

from collections.abc import Iterator

from .. import merge
from .context import PreflightContext
from .findings import Finding, Severity


def message_is_complete(ctx: PreflightContext) -> Iterator[Finding]:
    if not ctx.campaign.subject.strip():
        yield Finding("message.no_subject", Severity.BLOCK)
    if not ctx.campaign.body_text.strip():
        yield Finding("message.no_body", Severity.BLOCK)
    if merge.check_header_template(ctx.campaign.subject):
        yield Finding("message.subject_line_break", Severity.BLOCK)


def merge_fields_are_known(ctx: PreflightContext) -> Iterator[Finding]:
    c = ctx.campaign
    for where, text in (("subject", c.subject), ("text", c.body_text), ("html", c.body_html)):
        # merge words its problems in the language of the moment; a BLOCK finding is never
        # stored, so it is read by the person who caused it, in their own language.
        for problem in merge.check_template(text, c.columns):
            yield Finding("merge.unknown_field", Severity.BLOCK, {"where": where, "problem": problem})


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
        yield Finding("merge.header_injection", Severity.BLOCK, {"count": len(bad_rows)}, rows=tuple(bad_rows))
