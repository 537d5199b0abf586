"""Checks on the list's columns: every value the message needs is there, nothing it does not need is kept."""

from collections.abc import Iterator

from .context import PreflightContext
from .findings import Finding, Severity


def missing_values(ctx: PreflightContext) -> Iterator[Finding]:
    """Empty cells in a column the message needs: the address, the display name, every merge field."""
    c = ctx.campaign
    if not c.address_column or not ctx.rows:
        return  # list_is_present says what to do
    needed = [c.address_column]
    if c.name_column and c.name_column != c.address_column:
        needed.append(c.name_column)
    needed += [column for column in c.columns if column in ctx.used_fields and column not in needed]
    for column in needed:
        if column == c.address_column:
            empty = [row.row_number for row in ctx.rows if not row.address]
            kind = "address"
        elif column == c.name_column:
            empty = [row.row_number for row in ctx.rows if not row.display_name.strip()]
            kind = "name" if column not in ctx.used_fields else "field"
        else:
            empty = [row.row_number for row in ctx.rows if not str(row.data.get(column) or "").strip()]
            kind = "field"
        if empty:
            yield Finding("list.missing_value", Severity.BLOCK,
                          {"count": len(empty), "column": column, "kind": kind}, rows=tuple(empty))


def unused_columns(ctx: PreflightContext) -> Iterator[Finding]:
    unused = ctx.unused_columns
    if unused and ctx.rows:
        yield Finding("list.unused_columns", Severity.INFO, {"columns": unused})
