"""Who the message comes from and how recipients appear in its headers (incidents 1–8)."""

from collections.abc import Iterator

from django.conf import settings

from ..domains import domain_of, is_free_mail
from ..models import Campaign
from .context import PreflightContext
from .findings import Finding, Severity


def sender_is_approved(ctx: PreflightContext) -> Iterator[Finding]:
    sender = ctx.campaign.sender
    if sender is None or not sender.active:
        yield Finding("sender.missing", Severity.BLOCK)
    elif is_free_mail(sender.email):
        yield Finding("sender.free_mail", Severity.BLOCK, {"address": sender.email})


def recipient_mode_is_allowed(ctx: PreflightContext) -> Iterator[Finding]:
    if ctx.campaign.recipient_mode != Campaign.RecipientMode.SHARED:
        return
    limit = settings.MAILGUARD["SHARED_MODE_MAX_RECIPIENTS"]
    count = len(ctx.rows)
    external = [r.row_number for r in ctx.rows if domain_of(r.address) not in ctx.internal_domains]
    if count > limit or external or not ctx.rows:
        yield Finding("mode.shared_refused", Severity.BLOCK,
                      {"limit": limit, "count": count, "external": len(external)}, rows=tuple(external))
    else:
        yield Finding("mode.shared", Severity.ACKNOWLEDGE, {"count": count})
