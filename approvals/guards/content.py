"""Checks on the message: completeness and the merge fields it uses."""

from collections.abc import Iterator

from django.utils.translation import gettext as _

from .. import merge
from .context import PreflightContext
from .findings import Finding, Severity


def message_is_complete(ctx: PreflightContext) -> Iterator[Finding]:
    if not ctx.campaign.subject.strip():
        yield Finding("message.no_subject", Severity.BLOCK, _("Write a subject."))
    if not ctx.campaign.body_text.strip():
        yield Finding("message.no_body", Severity.BLOCK, _("Write the plain-text body."))


def merge_fields_are_known(ctx: PreflightContext) -> Iterator[Finding]:
    c = ctx.campaign
    for label, text in ((_("Subject"), c.subject), (_("Plain-text body"), c.body_text), (_("HTML body"), c.body_html)):
        for problem in merge.check_template(text, c.columns):
            yield Finding("merge.unknown_field", Severity.BLOCK, f"{label}: {problem}")
