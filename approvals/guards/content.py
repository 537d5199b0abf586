"""Checks on the message: completeness and the merge fields it uses."""

from collections.abc import Iterator

from django.utils.translation import gettext as _

from .. import merge
from ..models import Campaign
from .findings import Finding, Severity


def message_is_complete(campaign: Campaign) -> Iterator[Finding]:
    if not campaign.subject.strip():
        yield Finding("message.no_subject", Severity.BLOCK, _("Write a subject."))
    if not campaign.body_text.strip():
        yield Finding("message.no_body", Severity.BLOCK, _("Write the plain-text body."))


def merge_fields_are_known(campaign: Campaign) -> Iterator[Finding]:
    for label, text in (
        (_("Subject"), campaign.subject),
        (_("Plain-text body"), campaign.body_text),
        (_("HTML body"), campaign.body_html),
    ):
        for problem in merge.check_template(text, campaign.columns):
            yield Finding("merge.unknown_field", Severity.BLOCK, f"{label}: {problem}")
