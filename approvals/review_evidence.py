"""What a reviewer must have opened before the server accepts their approval (incident 5).

The first and the last recipient, a few chosen at random (seeded by the content
hash, so the sample is fixed for one version but unpredictable beforehand),
the first rows of every finding that needs acknowledgement, and every
attachment. Opening is recorded by the review views, never claimed by the client.
"""

import random
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import Campaign, ReviewActivity

RANDOM_SAMPLE = 3
ROWS_PER_FINDING = 5

Kind = ReviewActivity.Kind


@dataclass(frozen=True)
class Missing:
    recipients: list[tuple[int, int, str]]  # (recipient id, row number, address) still to preview
    attachments: list[tuple[int, str]]  # (attachment id, filename) still to open

    def __bool__(self) -> bool:
        return bool(self.recipients or self.attachments)

    def refusal(self) -> str:
        """Why approval is refused, naming only what is still unopened (never "0 attachments")."""
        previews, files = len(self.recipients), len(self.attachments)
        if previews and files:
            return _("Before approving, open %(previews)d more recipient previews and %(files)d more attachments.") % {
                "previews": previews, "files": files}
        if previews:
            return ngettext("Before approving, open %(count)d more recipient preview.",
                            "Before approving, open %(count)d more recipient previews.", previews) % {"count": previews}
        return ngettext("Before approving, open %(count)d more attachment.",
                        "Before approving, open %(count)d more attachments.", files) % {"count": files}


def required_recipient_ids(campaign: Campaign) -> list[int]:
    rows = list(campaign.recipients.order_by("row_number").values_list("id", "row_number"))
    if not rows:
        return []
    ids = {rows[0][0], rows[-1][0]}
    sampler = random.Random(campaign.submitted_hash)
    ids.update(sampler.choice(rows)[0] for _ in range(min(RANDOM_SAMPLE, len(rows))))
    ids.update(_ids_of_finding_rows(campaign, dict((row, pk) for pk, row in rows)))
    return sorted(ids)


def _ids_of_finding_rows(campaign: Campaign, id_by_row: dict[int, int]) -> set[int]:
    wanted = set()
    for finding in campaign.findings:
        if finding["severity"] == "info":
            continue
        wanted.update(id_by_row[row] for row in finding["rows"][:ROWS_PER_FINDING] if row in id_by_row)
    return wanted


def record_opened(campaign: Campaign, reviewer, kind: str, object_id: int) -> None:
    ReviewActivity.objects.get_or_create(
        campaign=campaign, reviewer=reviewer, content_hash=campaign.submitted_hash, kind=kind, object_id=object_id
    )


def opened(campaign: Campaign, reviewer, kind: str) -> set[int]:
    return set(
        ReviewActivity.objects.filter(
            campaign=campaign, reviewer=reviewer, content_hash=campaign.submitted_hash, kind=kind
        ).values_list("object_id", flat=True)
    )


def missing_evidence(campaign: Campaign, reviewer) -> Missing:
    seen_previews = opened(campaign, reviewer, Kind.PREVIEW)
    need = [pk for pk in required_recipient_ids(campaign) if pk not in seen_previews]
    recipients = list(campaign.recipients.filter(pk__in=need).values_list("id", "row_number", "email"))
    seen_files = opened(campaign, reviewer, Kind.ATTACHMENT)
    attachments = [(a.pk, a.filename) for a in campaign.attachments.all() if a.pk not in seen_files]
    return Missing(recipients=recipients, attachments=attachments)


def evidence_summary(campaign: Campaign, reviewer) -> dict:
    """For the audit event: what this reviewer opened on this version."""
    return {
        "previews_opened": len(opened(campaign, reviewer, Kind.PREVIEW)),
        "attachments_opened": sorted(opened(campaign, reviewer, Kind.ATTACHMENT)),
    }
