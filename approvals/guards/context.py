"""Everything a check needs, loaded once: checks must scale to 100,000 rows without N queries."""

from dataclasses import dataclass, field
from functools import cached_property

from .. import merge
from ..models import Attachment, Campaign, InternalDomain, Suppression


@dataclass(frozen=True)
class Row:
    row_number: int  # as Excel shows it (header = row 1)
    email: str
    display_name: str
    data: dict[str, str]


@dataclass
class PreflightContext:
    campaign: Campaign
    rows: list[Row]
    internal_domains: set[str]
    suppressed: dict[str, str]  # lowercased address -> reason
    attachments: list[Attachment] = field(default_factory=list)

    @classmethod
    def load(cls, campaign: Campaign) -> "PreflightContext":
        rows = [
            Row(*values)
            for values in campaign.recipients.order_by("row_number")
            .values_list("row_number", "email", "display_name", "data")
            .iterator(chunk_size=5000)
        ]
        return cls(
            campaign=campaign,
            rows=rows,
            internal_domains=set(InternalDomain.objects.values_list("domain", flat=True)),
            suppressed=dict(Suppression.objects.values_list("email", "reason")),
            attachments=list(campaign.attachments.all()),
        )

    @cached_property
    def used_fields(self) -> set[str]:
        """The columns the message refers to (subject, text and HTML)."""
        c = self.campaign
        return merge.used_fields(c.subject, c.body_text, c.body_html) & set(c.columns)

    @cached_property
    def unused_columns(self) -> list[str]:
        c = self.campaign
        keep = self.used_fields | {c.address_column, c.name_column}
        return [column for column in c.columns if column not in keep]
