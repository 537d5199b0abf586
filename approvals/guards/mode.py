"""Who the message comes from and how recipients appear in its headers (incidents 1–8)."""

from collections.abc import Iterator

from django.conf import settings
from django.utils.translation import gettext as _

from ..domains import domain_of, is_free_mail
from ..models import Campaign
from .context import PreflightContext
from .findings import Finding, Severity


def sender_is_approved(ctx: PreflightContext) -> Iterator[Finding]:
    sender = ctx.campaign.sender
    if sender is None or not sender.active:
        yield Finding(
            "sender.missing",
            Severity.BLOCK,
            _("Choose a sender from the identities your administrator approved."),
        )
    elif is_free_mail(sender.email):
        yield Finding(
            "sender.free_mail",
            Severity.BLOCK,
            _("%(address)s is a personal free-mail address; send from your organisation's address.")
            % {"address": sender.email},
        )


def recipient_mode_is_allowed(ctx: PreflightContext) -> Iterator[Finding]:
    if ctx.campaign.recipient_mode != Campaign.RecipientMode.SHARED:
        return
    limit = settings.MAILGUARD["SHARED_MODE_MAX_RECIPIENTS"]
    count = len(ctx.rows)
    external = [r.row_number for r in ctx.rows if domain_of(r.email) not in ctx.internal_domains]
    if count > limit or external or not ctx.rows:
        yield Finding(
            "mode.shared_refused",
            Severity.BLOCK,
            _("Every recipient would see every other address. Shared mode is only for lists "
              "of at most %(limit)d addresses, all in your organisation's domains; this list "
              "has %(count)d addresses, %(external)d of them outside. Choose “individual”.")
            % {"limit": limit, "count": count, "external": len(external)},
            rows=tuple(external[:1000]),
        )
    else:
        yield Finding(
            "mode.shared",
            Severity.ACKNOWLEDGE,
            _("All %(count)d recipients will see each other's addresses in To.") % {"count": count},
        )
