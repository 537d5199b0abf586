"""Reads for the auditor: who gained the Reviewer role when, and approvals that came soon after.

A second account made by an administrator (or a colleague's) that approves a
campaign minutes after it was given the Reviewer role is how the two-person rule
is bypassed by one person. Every grant is an audit event (approvals.account_audit);
these functions line grants up with approvals so the auditor sees who granted the
role, when, and whether that person drafted the very campaign.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from .models import AuditEvent, Campaign
from .roles import Role


@dataclass(frozen=True)
class RecentGrant:
    """The approver had gained the Reviewer role (or their account) shortly before approving."""

    approver: str
    granted_by: str
    granted_at: datetime
    approved_at: datetime
    action: str  # "role_granted" or "user_created"
    by_contributor: bool  # the granter drafted or edited this campaign
    same_address_as_drafter: bool

    @property
    def before_approval(self) -> timedelta:
        return self.approved_at - self.granted_at


def window() -> timedelta:
    return timedelta(days=settings.MAILGUARD["RECENT_ROLE_GRANT_DAYS"])


def _grant_events(user_ids, since: datetime, until: datetime):
    return (
        AuditEvent.objects.filter(created_at__gte=since, created_at__lte=until)
        .filter(action="role_granted", details__role=Role.REVIEWER.value, details__user_id__in=list(user_ids))
        .select_related("actor")
        .order_by("created_at", "id")
    )


def _account_events(user_ids, since: datetime, until: datetime):
    return (
        AuditEvent.objects.filter(created_at__gte=since, created_at__lte=until, action="user_created",
                                  details__object_id__in=list(user_ids))
        .order_by("created_at", "id")
    )


def recent_grants(campaign: Campaign) -> list[RecentGrant]:
    """The approver's Reviewer grants and account creation in the window before the approval."""
    if not campaign.approved_by_id or not campaign.approved_at:
        return []
    return flagged_approvals([campaign]).get(campaign.pk, [])


def flagged_approvals(campaigns) -> dict[int, list[RecentGrant]]:
    """For a page of campaigns, in two queries: campaign id -> recent grants before its approval."""
    approved = [c for c in campaigns if c.approved_by_id and c.approved_at]
    if not approved:
        return {}
    span = window()
    since = min(c.approved_at for c in approved) - span
    until = max(c.approved_at for c in approved)
    approvers = {c.approved_by_id for c in approved}
    events = [*_grant_events(approvers, since, until), *_account_events(approvers, since, until)]
    contributors = _contributors(approved)
    flagged: dict[int, list[RecentGrant]] = {}
    for campaign in approved:
        for event in events:
            subject = event.details.get("user_id", event.details.get("object_id"))
            if subject != campaign.approved_by_id:
                continue
            if not campaign.approved_at - span <= event.created_at <= campaign.approved_at:
                continue
            flagged.setdefault(campaign.pk, []).append(_grant(campaign, event, contributors[campaign.pk]))
    return flagged


def _contributors(campaigns) -> dict[int, set[int]]:
    from .models import Contributor

    people = {c.pk: {c.drafter_id} for c in campaigns}
    for campaign_id, user_id in Contributor.objects.filter(campaign__in=campaigns).values_list("campaign", "user"):
        people[campaign_id].add(user_id)
    return people


def _grant(campaign: Campaign, event: AuditEvent, contributors: set[int]) -> RecentGrant:
    approver, drafter = campaign.approved_by, campaign.drafter
    same_address = bool(approver.email) and approver.email.strip().lower() == (drafter.email or "").strip().lower()
    return RecentGrant(
        approver=approver.get_username(), granted_by=event.actor_name, granted_at=event.created_at,
        approved_at=campaign.approved_at, action=event.action,
        by_contributor=event.actor_id in contributors, same_address_as_drafter=same_address,
    )
