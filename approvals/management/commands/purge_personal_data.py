"""Retention: remove the personal data of campaigns that finished long enough ago.

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
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Case, Q, Value, When
from django.utils import timezone

from approvals import audit
from approvals.downloads import delete_link_files
from approvals.models import Campaign, Delivery, WebhookEvent
from approvals.reports import PURGE_ACTION

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
    """Blank out list values quoted in the stored findings' messages; returns how many changed."""
    values = sorted((v for v in quoted if len(v) >= MIN_QUOTED_LENGTH), key=len, reverse=True)
    changed = 0
    findings = []
    for finding in campaign.findings:
        message = _scrub_addresses(str(finding.get("message", "")))
        for value in values:
            if value in message:
                message = message.replace(value, PLACEHOLDER)
        if message != finding.get("message"):
            changed += 1
        findings.append({**finding, "message": message})
    if changed:
        campaign.findings = findings
        campaign.save(update_fields=["findings"])
    return changed


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


class Command(BaseCommand):
    help = (
        "Replace the personal data (addresses, names, list values) of campaigns that finished (sent, partly "
        "failed, cancelled) more than N days ago with placeholders. Counts, the delivery ledger's statuses and "
        "the audit log stay; one audit event per campaign records what was removed. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than-days", type=int, default=None,
            help="Campaigns finished more than this many days ago (default: MAILGUARD RETENTION_DAYS, 365).",
        )
        parser.add_argument("--dry-run", action="store_true", help="List the campaigns, change nothing.")

    def handle(self, *args, older_than_days: int | None, dry_run: bool, **options):
        days = default_days() if older_than_days is None else older_than_days
        if days < 0:
            raise CommandError("--older-than-days must be 0 or more")
        purged = skipped = 0
        for campaign in due_campaigns(days):
            in_doubt = campaign.deliveries.filter(status=Delivery.Status.IN_DOUBT).count()
            if in_doubt:
                skipped += 1
                self.stderr.write(
                    f"campaign {campaign.pk} skipped: {in_doubt} deliveries are in doubt; resolve them first"
                )
                continue
            if dry_run:
                purged += 1
                self.stdout.write(f"would purge campaign {campaign.pk} ({campaign.recipients.count()} recipients)")
                continue
            result = purge_campaign(campaign.pk)
            if result is None:
                continue
            purged += 1
            self.stdout.write(
                f"campaign {result.campaign_id}: {result.recipients} recipients, "
                f"{result.deliveries} deliveries purged"
            )
        verb = "would purge" if dry_run else "purged"
        self.stdout.write(f"{verb} {purged} campaigns older than {days} days; {skipped} skipped")
