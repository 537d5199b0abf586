"""Checks on the recipient list itself."""

from collections.abc import Iterator

from django.utils.translation import gettext as _
from email_validator import EmailNotValidError, validate_email

from ..models import Campaign
from .findings import Finding, Severity


def list_is_present(campaign: Campaign) -> Iterator[Finding]:
    if not campaign.address_column or not campaign.recipients.exists():
        yield Finding(
            "list.missing",
            Severity.BLOCK,
            _("Upload a recipient list and choose its address column."),
        )


def addresses_are_valid(campaign: Campaign) -> Iterator[Finding]:
    bad_rows = []
    for row_number, email in campaign.recipients.values_list("row_number", "email").iterator():
        try:
            validate_email(email, check_deliverability=False)
        except EmailNotValidError:
            bad_rows.append(row_number)
    if bad_rows:
        yield Finding(
            "list.invalid_address",
            Severity.BLOCK,
            _("%(count)d rows have an address that is not a valid email address (rows %(rows)s). "
              "Correct them in the list and upload it again.")
            % {"count": len(bad_rows), "rows": _row_summary(bad_rows)},
            rows=tuple(bad_rows),
        )


def _row_summary(rows: list[int], limit: int = 10) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (" …" if len(rows) > limit else "")
