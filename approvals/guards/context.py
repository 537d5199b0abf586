"""Everything a check needs, loaded once: checks must scale to 100,000 rows without N queries."""

from dataclasses import dataclass, field
from functools import cached_property

from .. import merge, trial_mode
from ..models import Attachment, Campaign, InternalDomain, OrganisationRule, Suppression


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
    organisation_rules: list[OrganisationRule] = field(default_factory=list)
    in_trial_mode: bool = False  # a drafter of this campaign has not been released from trial mode yet

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
            organisation_rules=list(OrganisationRule.objects.filter(enabled=True)),
            in_trial_mode=trial_mode.campaign_in_trial(campaign),
        )

    @cached_property
    def used_fields(self) -> set[str]:
        return used_fields_of(self.campaign)

    @cached_property
    def unused_columns(self) -> list[str]:
        return unused_columns_of(self.campaign)


def used_fields_of(campaign: Campaign) -> set[str]:
    """The columns the message refers to (subject, text and HTML)."""
    return merge.used_fields(campaign.subject, campaign.body_text, campaign.body_html) & set(campaign.columns)


def unused_columns_of(campaign: Campaign) -> list[str]:
    """Uploaded columns that no merge field uses: personal data the message does not need."""
    keep = used_fields_of(campaign) | {campaign.address_column, campaign.name_column}
    return [column for column in campaign.columns if column not in keep]
