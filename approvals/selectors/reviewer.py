"""Queries for the reviewer's page: which recipient to preview, found by position, row or address."""

from django.core.paginator import Page, Paginator

from ..models import Campaign
from . import row_number_in


def recipient_page(campaign: Campaign, query: str, number) -> Page:
    """One recipient per page, in list order.

    A query of digits is a list row number and finds exactly that row (row 12 never opens
    row 112); anything else is part of an address.
    """
    recipients = campaign.recipients.order_by("row_number")
    if query:
        row = row_number_in(query)
        if row is not None:
            recipients = recipients.filter(row_number=row)
        else:
            recipients = recipients.filter(email__icontains=query)
    return Paginator(recipients, 1).get_page(number)
