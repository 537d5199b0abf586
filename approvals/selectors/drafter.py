"""Queries for the drafter's pages: their campaigns, and what the edit page shows of the list."""

from django.db.models import QuerySet
from django.db.models.functions import Left

from ..models import Campaign
from . import campaigns_visible_to

SAMPLE_ROWS = 5
SAMPLE_CHARACTERS = 120


def campaigns_of(user) -> QuerySet[Campaign]:
    """The campaigns this drafter drafted or edited, newest first."""
    return campaigns_visible_to(user).filter(contributors__user=user)


def first_rows(campaign: Campaign) -> list[dict]:
    """The first rows as the edit page shows them: row, address and name, each cut to a screen's width
    in the database (a cell may be as long as the upload; the page needs its start)."""
    shown = {"email_shown": Left("email", SAMPLE_CHARACTERS), "name_shown": Left("display_name", SAMPLE_CHARACTERS)}
    return list(campaign.recipients.order_by("row_number").annotate(**shown)
                .values("row_number", "email_shown", "name_shown")[:SAMPLE_ROWS])
