"""Retention: remove the personal data of campaigns that finished long enough ago.

``manage.py purge_personal_data`` runs it; everything it decides and changes is here.

For every campaign that is sent, partly failed or cancelled and finished before
the cutoff, each recipient's address, display name and list values become the
placeholder "purged" (the rows themselves stay, so every count still adds up),
the delivery ledger's addresses likewise, addresses in ledger error texts and
in ESP tracking events are replaced, and names, addresses and list values
quoted in the stored preflight findings are blanked out. One audit event
"personal_data_purged" per campaign records the counts. Running it again
changes nothing: a campaign with that event is skipped.

The files of a campaign that sent them as download links are deleted (their
names and hashes stay), which ends those links for good.

Not touched: the audit log (append-only; its events carry no recipient
addresses), reviewers' comments, attached files (the same file for everyone), the
suppression list (it exists to keep addresses), and campaigns in any other state.
A partly failed campaign with deliveries still "in doubt" is skipped until a
person resolves them, because resolving may send again.
"""

import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Q, Value, When
from django.utils import timezone

from . import audit
from .downloads import delete_link_files
from .models import Campaign, Delivery, WebhookEvent
from .reports import PURGE_ACTION

PLACEHOLDER = "purged"
FINISHED = (Campaign.State.SENT, Campaign.State.PARTLY_FAILED, Campaign.State.CANCELLED)
# Anything that looks like an address inside free text (ESP errors, tracking details, finding messages).
ADDRESS_IN_TEXT = re.compile(r"[^\s<>\"'(),;:\[\]]+@[^\s<>\"'(),;:\[\]]+")
# Shorter values (a one-character name) would blank out ordinary words in the finding messages.
MIN_QUOTED_LENGTH = 2


@dataclass(frozen=True)
class PurgeResult:
    campaign_id: int
    recipients: int
    deliveries: int
    distinct_addresses: int
    domains: int
    findings_scrubbed: int


def default_days() -> int:
    return int(settings.MAILGUARD.get("RETENTION_DAYS", 365))


def due_campaigns(older_than_days: int, now=None):
    """Finished before the cutoff and not purged yet."""
    cutoff = (now or timezone.now()) - timedelta(days=older_than_days)
    finished_before = Q(finished_at__lt=cutoff) | Q(finished_at__isnull=True, updated_at__lt=cutoff)
    return (
        Campaign.objects.filter(state__in=FINISHED)
        .filter(finished_before)
        .exclude(events__action=PURGE_ACTION)
        .order_by("id")
    )


def _scrub_addresses(text: str) -> str:
    return ADDRESS_IN_TEXT.sub(PLACEHOLDER, text)


def _scrub_findings(campaign: Campaign, quoted: set[str]) -> int:
    """Blank out list values kept in the stored findings; returns how many findings changed.

    A finding keeps its facts as parameters and items (``approvals.guards.findings``): every
    text among them that is not one of the list's column names becomes the placeholder (numbers,
    such as rows and counts, stay, so the auditor still sees what was found and where). Findings
    stored as sentences (before findings had parameters) have the quoted values blanked out.
    """
    keep = set(campaign.columns)
    values = sorted((v for v in quoted if len(v) >= MIN_QUOTED_LENGTH), key=len, reverse=True)
    changed = 0
    findings = []
    for finding in campaign.findings:
        scrubbed = dict(finding)
        for name in ("params", "items"):
            if name in finding:
                scrubbed[name] = _blank_texts(finding[name], keep)
        if "message" in finding:
            scrubbed["message"] = _scrub_sentence(str(finding["message"]), values)
        changed += scrubbed != finding
        findings.append(scrubbed)
    if changed:
        campaign.findings = findings
        campaign.save(update_fields=["findings"])
    return changed


def _blank_texts(value, keep: set[str]):
    if isinstance(value, str):
        return value if value in keep or not value else PLACEHOLDER
    if isinstance(value, list | tuple):
        return [_blank_texts(item, keep) for item in value]
    if isinstance(value, dict):
        return {key: _blank_texts(item, keep) for key, item in value.items()}
    return value


def _scrub_sentence(message: str, values: list[str]) -> str:
    message = _scrub_addresses(message)
    for value in values:
        if value in message:
            message = message.replace(value, PLACEHOLDER)
    return message


def purge_campaign(campaign_id: int) -> PurgeResult | None:
    """Purge one campaign in one transaction; None when it is no longer due (state changed, already purged)."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if campaign.state not in FINISHED or campaign.events.filter(action=PURGE_ACTION).exists():
            return None
        if campaign.deliveries.filter(status=Delivery.Status.IN_DOUBT).exists():
            return None
        recipients = campaign.recipients.all()
        addresses: set[str] = set()
        quoted: set[str] = set()
        for email, name, data in recipients.values_list("email", "display_name", "data").iterator(chunk_size=5000):
            addresses.add(email.strip().lower())
            quoted.update(str(v).strip() for v in [email, name, *(data or {}).values()] if v)
        findings_scrubbed = _scrub_findings(campaign, quoted)

        # Free texts first, while they can still be matched against the ledger rows.
        deliveries = campaign.deliveries.all()
        noisy = deliveries.exclude(error="", tracking_detail="")
        batch = []
        for delivery in noisy.only("id", "error", "tracking_detail").iterator(chunk_size=2000):
            delivery.error = _scrub_addresses(delivery.error)
            delivery.tracking_detail = _scrub_addresses(delivery.tracking_detail)
            batch.append(delivery)
        Delivery.objects.bulk_update(batch, ["error", "tracking_detail"], batch_size=2000)
        esp_ids = deliveries.exclude(esp_message_id="").values("esp_message_id")
        WebhookEvent.objects.filter(esp_message_id__in=esp_ids).exclude(recipient="").update(recipient=PLACEHOLDER)

        recipient_count = recipients.update(
            email=PLACEHOLDER,
            display_name=Case(When(display_name="", then=Value("")), default=Value(PLACEHOLDER)),
            data={column: PLACEHOLDER for column in campaign.columns},
        )
        delivery_count = deliveries.update(email=PLACEHOLDER)
        files_deleted = delete_link_files(campaign)
        result = PurgeResult(
            campaign_id=campaign.pk,
            recipients=recipient_count,
            deliveries=delivery_count,
            distinct_addresses=len(addresses),
            domains=len({address.rsplit("@", 1)[-1] for address in addresses}),
            findings_scrubbed=findings_scrubbed,
        )
        audit.record(
            PURGE_ACTION,
            campaign=campaign,
            recipients=result.recipients,
            deliveries=result.deliveries,
            distinct_addresses=result.distinct_addresses,
            domains=result.domains,
            findings_scrubbed=result.findings_scrubbed,
            link_files_deleted=files_deleted,
            finished_at=campaign.finished_at.isoformat() if campaign.finished_at else "",
        )
    return result


@dataclass
class PurgeRun:
    """What one run did (or, with ``dry_run``, would do)."""

    days: int
    dry_run: bool
    purged: list[PurgeResult] = field(default_factory=list)
    would_purge: list[tuple[int, int]] = field(default_factory=list)  # (campaign id, recipients)
    skipped: list[tuple[int, int]] = field(default_factory=list)  # (campaign id, deliveries in doubt)


def purge_due(older_than_days: int | None = None, dry_run: bool = False, now=None) -> PurgeRun:
    """Purge every due campaign, one transaction each; campaigns with deliveries in doubt wait."""
    days = default_days() if older_than_days is None else older_than_days
    if days < 0:
        raise ValueError("older_than_days must be 0 or more")
    run = PurgeRun(days=days, dry_run=dry_run)
    for campaign in due_campaigns(days, now):
        in_doubt = campaign.deliveries.filter(status=Delivery.Status.IN_DOUBT).count()
        if in_doubt:
            run.skipped.append((campaign.pk, in_doubt))
        elif dry_run:
            run.would_purge.append((campaign.pk, campaign.recipients.count()))
        else:
            result = purge_campaign(campaign.pk)
            if result is not None:
                run.purged.append(result)
    return run
