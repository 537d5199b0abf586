"""Trial mode for new drafters (GOV.UK Notify's idea): until an administrator lifts it, a
drafter's campaigns can only go to the organisation's own domains and the seed addresses.

A campaign is in trial mode when its drafter or anyone who edited it still is. The
preflight blocks it (``guards.trial_mode``) and ``approval_refusal`` checks again at
approval, in case trial mode was switched on after the campaign was submitted.
Switching it on or off is audited (``set_trial_mode``).
"""

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from . import audit
from .domains import domain_of
from .models import Campaign, InternalDomain, UserProfile
from .profiles import new_account_trial_mode, profile_of


def campaign_in_trial(campaign: Campaign) -> bool:
    people = set(campaign.contributors.values_list("user_id", flat=True)) | {campaign.drafter_id}
    known = dict(UserProfile.objects.filter(user_id__in=people).values_list("user_id", "trial_mode"))
    return any(known.get(person, new_account_trial_mode()) for person in people)


def seed_addresses() -> set[str]:
    return {address.strip().lower() for address in settings.MAILGUARD["SEED_ADDRESSES"]}


def rows_outside(rows, internal_domains: set[str]) -> list[int]:
    """Rows (as Excel numbers them) whose address is neither internal nor a seed address."""
    seeds = seed_addresses()
    return [row.row_number for row in rows
            if domain_of(row.email) not in internal_domains and row.email.strip().lower() not in seeds]


def explanation(rows: list[int], internal_domains: set[str]) -> str:
    from .guards.findings import row_summary  # guards load this module through their context

    domains = ", ".join(sorted(internal_domains)) or _("(none configured)")
    return _("You are in trial mode: until an administrator lifts it, your campaigns can only go to "
             "your organisation's domains (%(domains)s) and the seed addresses. %(count)d rows are "
             "outside: %(rows)s.") % {"domains": domains, "count": len(rows), "rows": row_summary(rows)}


def approval_refusal(campaign: Campaign) -> str | None:
    """Checked again when a reviewer approves: trial mode may have been switched on since submission."""
    if not campaign_in_trial(campaign):
        return None
    internal = set(InternalDomain.objects.values_list("domain", flat=True))
    outside = rows_outside(campaign.recipients.only("row_number", "email").iterator(chunk_size=5000), internal)
    return explanation(outside, internal) if outside else None


def set_trial_mode(user, on: bool, actor) -> bool:
    """Switch a person's trial mode; audited. Returns whether anything changed."""
    with transaction.atomic():
        profile = profile_of(user)
        if profile.trial_mode == on:
            return False
        profile.trial_mode = on
        profile.save(update_fields=["trial_mode", "updated_at"])
        audit.record("trial_mode_started" if on else "trial_mode_lifted", actor=actor,
                     user=user.get_username(), user_id=user.pk)
    return True
