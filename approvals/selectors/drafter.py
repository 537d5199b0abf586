"""Queries for the drafter's pages: their campaigns, and what the edit page shows of the list."""

from django.db.models import QuerySet

from ..models import Campaign, Recipient
from . import campaigns_visible_to

SAMPLE_ROWS = 5


def campaigns_of(user) -> QuerySet[Campaign]:
    """The campaigns this drafter drafted or edited, newest first."""
    return campaigns_visible_to(user).filter(contributors__user=user)


def first_rows(campaign: Campaign) -> list[Recipient]:
    return list(campaign.recipients.order_by("row_number")[:SAMPLE_ROWS])
