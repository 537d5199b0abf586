"""Who the message comes from and how recipients appear in its headers (incidents 1–8)."""

from collections.abc import Iterator

from django.conf import settings
from django.utils.translation import gettext as _

from ..models import Campaign, InternalDomain
from .findings import Finding, Severity


def sender_is_approved(campaign: Campaign) -> Iterator[Finding]:
    if campaign.sender is None or not campaign.sender.active:
        yield Finding(
            "sender.missing",
            Severity.BLOCK,
            _("Choose a sender from the identities your administrator approved."),
        )


def _all_internal(campaign: Campaign) -> bool:
    internal = set(InternalDomain.objects.values_list("domain", flat=True))
    domains = {email.rsplit("@", 1)[-1].lower() for email in campaign.recipients.values_list("email", flat=True)}
    return bool(domains) and domains <= internal


def recipient_mode_is_allowed(campaign: Campaign) -> Iterator[Finding]:
    if campaign.recipient_mode != Campaign.RecipientMode.SHARED:
        return
    limit = settings.MAILGUARD["SHARED_MODE_MAX_RECIPIENTS"]
    count = campaign.recipients.count()
    if count > limit or not _all_internal(campaign):
        yield Finding(
            "mode.shared_refused",
            Severity.BLOCK,
            _("Every recipient would see every other address. Shared mode is only for lists "
              "of at most %(limit)d addresses, all in your organisation's domains; this list "
              "has %(count)d. Choose “individual”.") % {"limit": limit, "count": count},
        )
    else:
        yield Finding(
            "mode.shared",
            Severity.ACKNOWLEDGE,
            _("All %(count)d recipients will see each other's addresses in To.") % {"count": count},
        )
