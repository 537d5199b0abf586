"""Campaigns, their recipients and attachments, reviews, the delivery ledger, the audit log."""

import json
import re
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Lower, StrIndex, Substr, Trim
from django.utils.translation import gettext_lazy as _

from .domains import is_free_mail


class UnescapedJSONEncoder(json.JSONEncoder):
    """JSON that keeps non-ASCII text as itself, not as \\uXXXX escapes (json.dumps' default).

    For the rows of a list: names and notes in kanji take half the bytes this way. On SQLite, which
    keeps the JSON text, a 50 MB list is stored in half the time and read back five times faster
    (every preflight reads it); PostgreSQL's jsonb keeps decoded text either way, and parses half
    the bytes. The values are the same either way: json.loads gives back exactly what was stored.
    A lone surrogate (no upload gives one; UTF-8 cannot hold it) stays escaped, as json.dumps
    writes it by default: SQLite stores it so, and PostgreSQL refuses it, as before.
    """

    def __init__(self, **options):
        super().__init__(**{**options, "ensure_ascii": False})

    def encode(self, o) -> str:
        text = super().encode(o)
        if _SURROGATE.search(text) is None:  # nearly always: searching costs a third of substituting
            return text
        # A surrogate can only be inside a JSON string, where its escape stands for it.
        return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


_SURROGATE = re.compile("[\ud800-\udfff]")


class SenderIdentity(models.Model):
    """A From address an admin has approved; drafters can pick nothing else."""

    display_name = models.CharField(_("display name"), max_length=200)
    email = models.EmailField(_("address"), unique=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("sender identity")
        verbose_name_plural = _("sender identities")
        ordering = ["email"]

    def __str__(self) -> str:
        return f"{self.display_name} <{self.email}>"

    def clean(self):
        if is_free_mail(self.email):
            raise ValidationError({"email": _("A personal free-mail address cannot be an approved sender.")})


class InternalDomain(models.Model):
    """A mail domain that belongs to the organisation (used by the recipient guards)."""

    domain = models.CharField(_("domain"), max_length=253, unique=True)

    class Meta:
        verbose_name = _("internal domain")
        verbose_name_plural = _("internal domains")
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain

    def save(self, *args, **kwargs):
        self.domain = self.domain.strip().lower()
        super().save(*args, **kwargs)


class Suppression(models.Model):
    """An address that must not be mailed: bounced, complained or unsubscribed."""

    class Reason(models.TextChoices):
        BOUNCED = "bounced", _("Hard bounce")
        COMPLAINED = "complained", _("Spam complaint")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        MANUAL = "manual", _("Added by an administrator")

    email = models.CharField(_("address"), max_length=320, unique=True)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppressed addresses")

    def __str__(self) -> str:
        return f"{self.email} ({self.reason})"

    def save(self, *args, **kwargs):
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)


class Campaign(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_REVIEW = "in_review", _("In review")
        REJECTED = "rejected", _("Rejected")
        APPROVED = "approved", _("Approved")
        SENDING = "sending", _("Sending")
        PAUSED = "paused", _("Paused")
        SENT = "sent", _("Sent")
        PARTLY_FAILED = "partly_failed", _("Partly failed")
        CANCELLED = "cancelled", _("Cancelled")

    class RecipientMode(models.TextChoices):
        INDIVIDUAL = "individual", _("Individual: each recipient alone in To")
        BCC = "bcc", _("Bcc: To holds the sender, each recipient only in the envelope")
        SHARED = "shared", _("Shared: every recipient in To (small internal lists only)")

    class Kind(models.TextChoices):
        NOTICE = "notice", _("Notice: a one-off message")
        NEWSLETTER = "newsletter", _("Newsletter: recipients can unsubscribe with one click")

    class AttachmentDelivery(models.TextChoices):
        ATTACH = "attach", _("Attach the files to each message")
        LINKS = "links", _("Send each recipient their own download links (expiring, can be stopped)")

    name = models.CharField(_("campaign name"), max_length=200)
    drafter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="drafted_campaigns"
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.DRAFT)
    sender = models.ForeignKey(
        SenderIdentity, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("sender")
    )
    # The sender identity's name and address as they were at submission: what the reviewer saw and
    # what every message carries, whatever an administrator later does to the identity. Empty while drafting.
    sender_name = models.CharField(max_length=200, blank=True)
    sender_email = models.CharField(max_length=254, blank=True)
    recipient_mode = models.CharField(
        _("recipient field mode"),
        max_length=20,
        choices=RecipientMode.choices,
        default=RecipientMode.INDIVIDUAL,
    )
    kind = models.CharField(_("campaign kind"), max_length=20, choices=Kind.choices, default=Kind.NOTICE)
    attachment_delivery = models.CharField(
        _("how files reach recipients"),
        max_length=20,
        choices=AttachmentDelivery.choices,
        default=AttachmentDelivery.ATTACH,
    )
    subject = models.CharField(_("subject"), max_length=500, blank=True)
    body_text = models.TextField(_("plain-text body"), blank=True)
    body_html = models.TextField(_("HTML body (optional)"), blank=True)

    # The recipient list as uploaded: its columns, and which ones are address and name.
    list_filename = models.CharField(max_length=255, blank=True)
    list_sha256 = models.CharField(max_length=64, blank=True)
    columns = models.JSONField(default=list, blank=True)
    address_column = models.CharField(_("address column"), max_length=200, blank=True)
    name_column = models.CharField(_("display-name column"), max_length=200, blank=True)

    # The preflight findings stored with the submitted version (see approvals.guards).
    findings = models.JSONField(default=list, blank=True)
    submitted_hash = models.CharField(max_length=64, blank=True)
    approved_hash = models.CharField(max_length=64, blank=True)
    # Which rule computes the content hash (approvals.content_hash): 1 for campaigns submitted before
    # attachment types were hashed, 2 since. A campaign back in draft is hashed by the newest rule.
    content_hash_version = models.PositiveSmallIntegerField(default=2)
    # The hash of everything but the recipient rows at approval, re-checked before every batch.
    approved_message_digest = models.CharField(max_length=64, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="approved_campaigns",
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    # End of the hold window: nothing leaves before this, and it can still be cancelled.
    send_after = models.DateTimeField(null=True, blank=True)
    sending_started_at = models.DateTimeField(null=True, blank=True)
    # Why sending paused itself (or who paused it), or why it was stopped; shown on the campaign page.
    pause_reason = models.TextField(blank=True)
    # Staged send: how many recipients the canary stage still sends before pausing (None: no canary).
    canary_size = models.PositiveIntegerField(null=True, blank=True)
    # A resend or an apology is a new campaign; this points at the one it follows.
    copied_from = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="copies")
    finished_at = models.DateTimeField(null=True, blank=True)
    # "Stop all downloads": from this moment no download link of the campaign serves a file.
    downloads_stopped_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Separation of duties, refused by the database itself.
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("drafter")),
                name="campaign_approver_is_not_drafter",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_editable(self) -> bool:
        return self.state in (self.State.DRAFT, self.State.REJECTED)

    def sender_values(self) -> tuple[str, str] | None:
        """(name, address) of the From header: frozen at submission, else the chosen identity's."""
        if self.sender_email:
            return self.sender_name, self.sender_email
        if self.sender_id is None:
            return None
        return self.sender.display_name, self.sender.email

    @property
    def sender_label(self) -> str:
        values = self.sender_values()
        return f"{values[0]} <{values[1]}>" if values else ""


class Contributor(models.Model):
    """Everyone who drafted or edited a campaign; none of them may approve it."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="contributors")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "user"], name="unique_contributor")
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.campaign}"


def email_domain(field: str = "email"):
    """SQL for an address's domain (after the @, trimmed, lower case); indexed, so keep it the one copy."""
    return Lower(Trim(Substr(field, StrIndex(field, Value("@")) + 1)))


class Recipient(models.Model):
    """One row of the recipient list: address, name and fields always travel together."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    row_number = models.PositiveIntegerField()
    email = models.CharField(max_length=320)
    display_name = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict, encoder=UnescapedJSONEncoder)

    class Meta:
        ordering = ["row_number"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "row_number"], name="unique_recipient_row")
        ]
        indexes = [
            models.Index(fields=["campaign", "email"]),
            # The auditor's "campaigns with a recipient on this domain" and the reviewer's domain counts.
            models.Index(F("campaign"), email_domain(), name="recipient_campaign_domain"),
            # The address across campaigns: the auditor's address history, the names-changed check.
            models.Index(Lower("email"), name="recipient_email_lower"),
        ]

    def __str__(self) -> str:
        return self.email


def attachment_path(instance: "Attachment", filename: str) -> str:
    # A random name on disk: the original filename is kept only in the database.
    return f"attachments/{instance.campaign_id}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=200)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to=attachment_path)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["filename", "id"]

    def __str__(self) -> str:
        return self.filename


class ReviewActivity(models.Model):
    """What a reviewer actually opened, recorded by the server (incident 5: no click-through)."""

    class Kind(models.TextChoices):
        PREVIEW = "preview", _("Preview of a recipient's message")
        ATTACHMENT = "attachment", _("Attachment opened")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="review_activity")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    content_hash = models.CharField(max_length=64)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    object_id = models.PositiveBigIntegerField()  # Recipient or Attachment id
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "reviewer", "content_hash", "kind", "object_id"], name="unique_review_activity"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reviewer} {self.kind} {self.object_id}"


class Review(models.Model):
    class Decision(models.TextChoices):
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    decision = models.CharField(max_length=10, choices=Decision.choices)
    comment = models.TextField(blank=True)
    content_hash = models.CharField(max_length=64)
    # The keys of the findings the reviewer acknowledged one by one.
    acknowledged = models.JSONField(default=list, blank=True)
    # Risk-tiered approval: the rule that applied ({"required": 2, "reasons": [...]}, see approval_policy)
    # and the submission this approval belongs to (approvals of an earlier submission never count).
    policy = models.JSONField(default=dict, blank=True)
    submission_event = models.ForeignKey(
        "AuditEvent", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.reviewer} {self.decision} {self.campaign}"


class Delivery(models.Model):
    """The ledger: one row per approved recipient, the single truth of what was sent."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENDING = "sending", _("Handed to a worker")
        SENT = "sent", _("Accepted by the ESP")
        FAILED = "failed", _("Failed")
        IN_DOUBT = "in_doubt", _("In doubt")
        CANCELLED = "cancelled", _("Cancelled")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="deliveries")
    recipient = models.OneToOneField(Recipient, on_delete=models.CASCADE, related_name="delivery")
    email = models.CharField(max_length=320)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    message_id = models.CharField(max_length=255, unique=True)
    esp_message_id = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    claim_token = models.CharField(max_length=36, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # What the ESP reported later through its tracking webhook (delivered, bounced, complained…).
    tracking_status = models.CharField(max_length=20, blank=True)
    tracking_detail = models.TextField(blank=True)
    tracking_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # Claims (pending, due), counts per status, and the first and last message accepted.
            models.Index(fields=["campaign", "status", "sent_at"], name="delivery_campaign_status_sent"),
            models.Index(fields=["esp_message_id"]),
            # The ledger of one campaign, page by page in id order.
            models.Index(fields=["campaign", "id"], name="delivery_campaign_id"),
            # "Everything sent to this address", upper and lower case alike.
            models.Index(Lower("email"), name="delivery_email_lower"),
        ]
        verbose_name_plural = _("deliveries")

    def __str__(self) -> str:
        return f"{self.email}: {self.status}"


class DeliveryCounts(models.Model):
    """How many of a campaign's deliveries are in each status, kept by the ledger with every write.

    One row per campaign with a ledger. ``approvals.delivery.ledger`` changes these numbers in
    the same transaction as the rows they count, so pages read six integers instead of counting
    the ledger, whatever its size. ``ledger.rebuild_counts`` (``manage.py rebuild_delivery_counts``)
    recounts them from the rows. The field names are the ``Delivery.Status`` values.
    """

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, primary_key=True,
                                    related_name="delivery_counts")
    pending = models.IntegerField(default=0)
    sending = models.IntegerField(default=0)
    sent = models.IntegerField(default=0)
    failed = models.IntegerField(default=0)
    in_doubt = models.IntegerField(default=0)
    cancelled = models.IntegerField(default=0)

    class Meta:
        verbose_name_plural = _("delivery counts")

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.as_dict()}"

    def as_dict(self) -> dict[str, int]:
        return {status: getattr(self, status) for status in Delivery.Status.values}


class DailyDeliveryCounts(models.Model):
    """Messages of a campaign accepted and failed on one day (site time zone), kept by the ledger.

    The dashboard's messages-per-day chart and recent bounce rate read these rows (a month is
    at most a few per campaign) instead of counting the ledger by day. A message counts on the
    day it was accepted (its ``sent_at``) or failed (its ``updated_at``); neither changes later.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="daily_delivery_counts")
    day = models.DateField()
    sent = models.IntegerField(default=0)
    failed = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "day"], name="unique_campaign_day")]
        indexes = [models.Index(fields=["day"], name="daily_counts_day")]
        verbose_name_plural = _("daily delivery counts")

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.day}: {self.sent} sent, {self.failed} failed"


class Download(models.Model):
    """One use of a recipient's download link: who (the delivery), which file, when, and what happened.

    Wrong addresses are kept too: they are what the throttle counts, and an
    auditor should see someone guessing at a link.
    """

    class Outcome(models.TextChoices):
        DOWNLOADED = "downloaded", _("Downloaded")
        WRONG_ADDRESS = "wrong_address", _("Wrong address entered")

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="downloads")
    attachment = models.ForeignKey(Attachment, on_delete=models.CASCADE, related_name="downloads")
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["delivery", "outcome", "created_at"])]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.attachment_id} {self.outcome}"


class SenderDomainCheck(models.Model):
    """What DNS said about a sender domain's SPF, DKIM and DMARC records, and when (approvals.sender_auth).

    Only the records are stored; whether they pass is judged when read, against
    the transport's current settings, so a changed setting never needs a new lookup.
    """

    domain = models.CharField(_("domain"), max_length=253, unique=True)
    checked_at = models.DateTimeField(_("checked at"))
    # False: DNS did not answer (offline, timeout) and nothing could be judged.
    answered = models.BooleanField(default=False)
    # The lookups this result covers (selectors, signing domains): a different set is a new check.
    lookups = models.CharField(max_length=64, blank=True)
    records = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("sender domain check")
        verbose_name_plural = _("sender domain checks")

    def __str__(self) -> str:
        return f"{self.domain} {self.checked_at:%Y-%m-%d %H:%M}"


class AuditEvent(models.Model):
    """Append-only, hash-chained record of every workflow action (see approvals.audit)."""

    class Scheme(models.IntegerChoices):
        SHA256 = 1, "SHA-256"  # events written before the chain was keyed
        HMAC_SHA256 = 2, "HMAC-SHA256"

    created_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    actor_name = models.CharField(max_length=150)
    action = models.CharField(max_length=50)
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    content_hash = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # How ``hash`` was computed; set explicitly by approvals.audit.record.
    scheme = models.PositiveSmallIntegerField(choices=Scheme.choices)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name} {self.action}"


class WebhookEvent(models.Model):
    """Each ESP tracking event once: a repeated delivery of the same event changes nothing.

    Once per ESP event id, and once per (message, recipient, event type): a replay of an
    event under a new id changes nothing either (see approvals.delivery.tracking).
    """

    dedup_key = models.CharField(max_length=64, unique=True)
    esp_name = models.CharField(max_length=50)
    event_id = models.CharField(max_length=255, blank=True)
    event_type = models.CharField(max_length=30)
    esp_message_id = models.CharField(max_length=255, blank=True)
    recipient = models.CharField(max_length=320, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["esp_name", "event_id"], condition=~Q(event_id=""), name="unique_webhook_event_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.esp_name} {self.event_type} {self.recipient}"


class PreflightRun(models.Model):
    """The findings of one content version, so an unchanged campaign is not checked again.

    ``key`` covers the content hash of the locked snapshot the findings were computed on and
    everything else the checks read (approvals.preflight); a row is written only under the
    campaign's lock.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="preflight_runs")
    key = models.CharField(max_length=64)
    content_hash = models.CharField(max_length=64)
    findings = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "key"], name="unique_preflight_run")]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.content_hash[:12]}"


class RateBucket(models.Model):
    """Token bucket in the database, shared by all workers when no Redis is configured."""

    name = models.CharField(max_length=50, primary_key=True)
    tokens = models.FloatField()
    updated = models.FloatField()  # time.time() of the last refill

    def __str__(self) -> str:
        return self.name


# --- What the organisation configures and what people prefer (issue 12) ---------------------


class UserProfile(models.Model):
    """A person's preferences (mail language, notifications turned off) and their trial mode."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mailguard_profile")
    language = models.CharField(_("language of mail to you"), max_length=10, choices=settings.LANGUAGES,
                                default=settings.LANGUAGE_CODE)
    # Notification kinds this person turned off (mandatory kinds are sent regardless).
    muted_notifications = models.JSONField(default=list, blank=True)
    # GOV.UK Notify's idea: a new drafter sends only inside the organisation until an administrator lifts it.
    trial_mode = models.BooleanField(
        _("trial mode"), default=True,
        help_text=_("While on, this person's campaigns can only go to internal addresses and the seed list."))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("user profile")
        verbose_name_plural = _("user profiles")

    def __str__(self) -> str:
        return str(self.user)


class SystemMail(models.Model):
    """The ledger of MailGuard's own mail (notifications, digests): what went to whom, and what failed.

    Never mixed with ``Delivery``: system mail is not campaign mail and never passes the delivery engine.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting")
        SENDING = "sending", _("Being sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    kind = models.CharField(max_length=40)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="system_mail")
    to_address = models.CharField(max_length=320)
    language = models.CharField(max_length=10)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    campaign = models.ForeignKey(Campaign, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="system_mail")
    event = models.ForeignKey(AuditEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # One mail per occasion and person, however often the occasion is looked at (e.g. "event:12:approved:3").
    dedup_key = models.CharField(max_length=120, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    message_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"])]
        verbose_name = _("system mail")
        verbose_name_plural = _("system mail")

    def __str__(self) -> str:
        return f"{self.kind} → {self.to_address}: {self.status}"


class ApprovalPolicy(models.Model):
    """When one approval is not enough: an administrator's thresholds (one row; see approval_policy)."""

    recipients_above = models.PositiveIntegerField(
        _("more recipients than"), null=True, blank=True,
        help_text=_("Two approvals when the list has more recipients than this. Empty: no limit."))
    external_domains_above = models.PositiveIntegerField(
        _("more external domains than"), null=True, blank=True,
        help_text=_("Two approvals when recipients are at more domains outside the organisation than this."))
    any_attachment = models.BooleanField(_("any attachment"), default=False,
                                         help_text=_("Two approvals whenever the message has an attachment."))
    finding_codes = models.TextField(
        _("findings that need two approvals"), blank=True,
        help_text=_("One finding code per line (e.g. recipients.similar); a finding of one of these kinds "
                    "that the reviewer must acknowledge requires two approvals. A code ending in * matches "
                    "every code that starts with it."))
    sender_identities = models.ManyToManyField(
        SenderIdentity, blank=True, verbose_name=_("sender identities"),
        help_text=_("Campaigns from these senders always need two approvals."))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("approval policy")
        verbose_name_plural = _("approval policy")

    def __str__(self) -> str:
        return str(_("Approval policy"))

    @property
    def codes(self) -> list[str]:
        return [line.strip() for line in self.finding_codes.splitlines() if line.strip()]


class OrganisationRule(models.Model):
    """A lesson of the organisation: a keyword or RE2 pattern, where to look, and what happens on a match."""

    class Target(models.TextChoices):
        SUBJECT = "subject", _("Subject")
        BODY_TEXT = "body_text", _("Plain-text body")
        BODY_HTML = "body_html", _("HTML body")
        ATTACHMENT_NAMES = "attachment_names", _("Attachment names")
        ATTACHMENT_TEXT = "attachment_text", _("Attachment text")
        RECIPIENT_DOMAINS = "recipient_domains", _("Recipient domains")

    class Match(models.TextChoices):
        KEYWORD = "keyword", _("Keyword")
        PATTERN = "pattern", _("Pattern (RE2)")

    class Action(models.TextChoices):
        INFO = "info", _("Show a note")
        ACKNOWLEDGE = "acknowledge", _("The reviewer must acknowledge it")
        BLOCK = "block", _("Block submission")
        SECOND_APPROVER = "second_approver", _("Require a second approver")

    name = models.CharField(_("name"), max_length=200, unique=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    target = models.CharField(_("where to look"), max_length=20, choices=Target.choices)
    match = models.CharField(_("match"), max_length=10, choices=Match.choices, default=Match.KEYWORD)
    expression = models.CharField(
        _("keyword or pattern"), max_length=1000,
        help_text=_("Compared after Unicode NFKC normalisation and case folding (full-width and half-width "
                    "forms match). A pattern uses RE2 syntax; for recipient domains a keyword matches the "
                    "domain and its subdomains."))
    action = models.CharField(_("action"), max_length=20, choices=Action.choices, default=Action.ACKNOWLEDGE)
    message = models.TextField(_("message to show"), help_text=_("What the drafter and the reviewer read."))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation rule")
        verbose_name_plural = _("organisation rules")

    def __str__(self) -> str:
        return self.name

    def clean(self):
        from .org_rules import RuleError, compile_rule

        try:
            compile_rule(self.match, self.expression)
        except RuleError as err:
            raise ValidationError({"expression": str(err)}) from err
