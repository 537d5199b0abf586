"""Checks on the recipient list itself."""

from collections.abc import Iterator

from django.utils.translation import gettext as _
from email_validator import EmailNotValidError, validate_email

from .context import PreflightContext
from .findings import Finding, Severity, row_summary


def list_is_present(ctx: PreflightContext) -> Iterator[Finding]:
    if not ctx.campaign.address_column or not ctx.rows:
        yield Finding("list.missing", Severity.BLOCK, _("Upload a recipient list and choose its address column."))


def addresses_are_valid(ctx: PreflightContext) -> Iterator[Finding]:
    bad_rows = []
    for row in ctx.rows:
        try:
            validate_email(row.email, check_deliverability=False)
        except EmailNotValidError:
            bad_rows.append(row.row_number)
    if bad_rows:
        yield Finding(
            "list.invalid_address",
            Severity.BLOCK,
            _("%(count)d rows have an address that is not a valid email address (rows %(rows)s). "
              "Correct them in the list and upload it again.")
            % {"count": len(bad_rows), "rows": row_summary(bad_rows)},
            rows=tuple(bad_rows),
        )
