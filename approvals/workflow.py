"""The campaign workflow: everything a person does to a campaign, checked on the server.

Every action checks, on the server, the actor's role, separation of duties and
the campaign's state; performs the change in one transaction; and writes its
audit event. Views and the admin call these functions; the state table and the
moves the delivery engine makes on its own live one layer below, in
``approvals.transitions``, so the engine never imports this module.

One version, locked: every edit, submission and decision first takes the
campaign's row lock (and submission the sender identity's), so they happen one
after another; submission computes the content hash and the preflight from the
same locked snapshot, and approval compares the hash under the same lock.

    draft ──submit──▶ in_review ──approve──▶ approved ──start──▶ sending ──finish──▶ sent
      ▲                   │                                                     └──▶ partly_failed
      └──edit── rejected ◀┘reject             sending ◀──resume── paused ◀──pause── sending
    cancel: from draft, in_review, rejected, approved, sending, paused
"""

import hashlib
from collections.abc import Iterable

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import approval_policy, audit, guards, preflight, review_evidence, send_window, transitions, trial_mode
from .bulk_insert import insert_rows
from .content_hash import CURRENT_VERSION, compute_content_hash, message_digest
from .delivery import ledger
from .guards.context import unused_columns_of
from .intake.addresses import sendable_address
from .intake.attachments import AttachmentRefused, inspect_attachment
from .intake.lists import RecipientTable
from .merge import MergeError
from .models import Attachment, Campaign, Contributor, Download, Recipient, Review, SenderIdentity
from .rendering import message_id_for
from .roles import Role, has_role
from .transitions import TRANSITIONS, NotAllowed, WorkflowError, move, state_refusal

State = Campaign.State
__all__ = ["TRANSITIONS", "NotAllowed", "WorkflowError", "SubmissionBlocked"]


class SubmissionBlocked(WorkflowError):
    def __init__(self, findings: list[guards.Finding]):
        super().__init__(_("The campaign cannot be submitted until these problems are fixed."))
        self.findings = findings


# --- Who may do what -----------------------------------------------------------------


def is_contributor(campaign: Campaign, user) -> bool:
    return campaign.drafter_id == user.pk or campaign.contributors.filter(user=user).exists()


def _person_refusal(action: str, campaign: Campaign, user) -> str | None:
    """Why this person may never do ``action`` on this campaign; None when they may."""
    if not user.is_authenticated or not user.is_active:
        return _("Please sign in.")
    if action in ("edit", "submit"):
        if not has_role(user, Role.DRAFTER):
            return _("Only drafters can edit and submit campaigns.")
        if not is_contributor(campaign, user):
            # A reviewer who also drafts sees every submitted campaign; seeing is not owning.
            return _("Only the campaign's own drafters can edit or submit it.")
    elif action in ("approve", "reject"):
        if not has_role(user, Role.REVIEWER):
            return _("Only reviewers can approve or reject campaigns.")
        if is_contributor(campaign, user):
            # Separation of duties holds for everyone, superusers included.
            return _("You drafted or edited this campaign, so someone else must review it.")
    elif action in ("cancel", "pause", "resume"):
        if not (is_contributor(campaign, user) or has_role(user, Role.REVIEWER) or user.is_superuser):
            return _("Only the campaign's drafters, reviewers and administrators can stop or resume it.")
    return None


def can(action: str, campaign: Campaign, user) -> bool:
    return _person_refusal(action, campaign, user) is None and state_refusal(action, campaign) is None


def _lock(campaign: Campaign) -> None:
    """Take the campaign's row lock for the rest of the transaction and reload it.

    Every edit, submission and decision holds this lock, so none of them can interleave
    with another. (SQLite has no row locks; its write transactions already run one at a
    time, begun IMMEDIATE.)
    """
    Campaign.objects.select_for_update().filter(pk=campaign.pk).values_list("pk", flat=True).get()
    campaign.refresh_from_db()


def _require(action: str, campaign: Campaign, user) -> None:
    # Decide on the state in the database, not on a copy a page loaded a while ago.
    campaign.refresh_from_db(fields=["state"])
    _check(action, campaign, user)


def _require_locked(action: str, campaign: Campaign, user) -> None:
    """Lock the campaign, then check: the decision holds until the transaction ends."""
    _lock(campaign)
    _check(action, campaign, user)


def _check(action: str, campaign: Campaign, user) -> None:
    reason = _person_refusal(action, campaign, user)
    if reason:
        raise NotAllowed(reason)
    reason = state_refusal(action, campaign)
    if reason:
        raise WorkflowError(reason)


def _note_contributor(campaign: Campaign, user) -> None:
    Contributor.objects.get_or_create(campaign=campaign, user=user)


def _begin_edit(campaign: Campaign, user) -> None:
    """Every change of content: locked and checked, the editor remembered, a rejected campaign back
    to draft (where the sender follows its identity again and the newest hash rule applies)."""
    _require_locked("edit", campaign, user)
    _note_contributor(campaign, user)
    if campaign.state != State.DRAFT:
        move(campaign, "edit", State.DRAFT, sender_name="", sender_email="",
             content_hash_version=CURRENT_VERSION)


# --- Drafting ------------------------------------------------------------------------


def create_campaign(user, name: str) -> Campaign:
    if not has_role(user, Role.DRAFTER):
        raise NotAllowed(_("Only drafters can create campaigns."))
    with transaction.atomic():
        campaign = Campaign.objects.create(name=name, drafter=user)
        _note_contributor(campaign, user)
        audit.record("created", actor=user, campaign=campaign, name=name)
    return campaign


MESSAGE_FIELDS = ("name", "sender", "recipient_mode", "kind", "attachment_delivery", "subject", "body_text",
                  "body_html")


def update_message(campaign: Campaign, user, **values) -> list[str]:
    """Change the message fields; returns the names of the fields that changed."""
    unknown = set(values) - set(MESSAGE_FIELDS)
    if unknown:
        raise ValueError(f"not message fields: {sorted(unknown)}")
    sender = values.get("sender")
    if sender is not None and not SenderIdentity.objects.filter(pk=sender.pk, active=True).exists():
        raise WorkflowError(_("Choose a sender from the identities your administrator approved."))
    with transaction.atomic():
        _begin_edit(campaign, user)
        changed = [name for name, value in values.items() if getattr(campaign, name) != value]
        for name in changed:
            setattr(campaign, name, values[name])
        if changed:
            campaign.save(update_fields=[*changed, "updated_at"])
            audit.record("edited", actor=user, campaign=campaign, fields=changed)
    return changed


def replace_recipient_list(
    campaign: Campaign, user, filename: str, table: RecipientTable
) -> None:
    """Store a new list in place of the old one, all rows or none."""
    address_column = table.guess_address_column() or table.columns[0]
    name_column = table.guess_name_column() or ""
    with transaction.atomic():
        _begin_edit(campaign, user)
        _require_fitting_columns(campaign, address_column, name_column, table)
        campaign.recipients.all().delete()
        campaign.list_filename = filename
        campaign.list_sha256 = table.sha256
        campaign.columns = table.columns
        campaign.address_column = address_column
        campaign.name_column = name_column
        campaign.save()
        insert_rows(Recipient, ("row_number", "email", "display_name", "data"), (
            (
                table.row_numbers[index],  # as Excel numbers it (header = row 1)
                row.get(address_column, ""),
                row.get(name_column, "") if name_column else "",
                row,
            )
            for index, row in enumerate(table.rows)
        ), campaign=campaign.pk)
        audit.record(
            "list_uploaded",
            actor=user,
            campaign=campaign,
            filename=filename,
            rows=len(table.rows),
            columns=table.columns,
            encoding=table.encoding,
            sha256=table.sha256,
        )


def choose_columns(campaign: Campaign, user, address_column: str, name_column: str) -> None:
    """Re-derive every row's address and display name from the chosen columns."""
    if address_column not in campaign.columns or (name_column and name_column not in campaign.columns):
        raise WorkflowError(_("Choose columns that exist in the uploaded list."))
    with transaction.atomic():
        _begin_edit(campaign, user)
        _require_fitting_columns(campaign, address_column, name_column)
        campaign.address_column = address_column
        campaign.name_column = name_column
        campaign.save(update_fields=["address_column", "name_column", "updated_at"])
        batch: list[Recipient] = []
        for recipient in campaign.recipients.iterator(chunk_size=2000):
            recipient.email = recipient.data.get(address_column, "")
            recipient.display_name = recipient.data.get(name_column, "") if name_column else ""
            batch.append(recipient)
            if len(batch) >= 2000:
                Recipient.objects.bulk_update(batch, ["email", "display_name"])
                batch.clear()
        Recipient.objects.bulk_update(batch, ["email", "display_name"])
        audit.record(
            "columns_chosen", actor=user, campaign=campaign,
            address_column=address_column, name_column=name_column,
        )


def _require_fitting_columns(campaign: Campaign, address_column: str, name_column: str,
                             table: RecipientTable | None = None) -> None:
    """Refuse address and name columns with a value longer than the database keeps for them.

    PostgreSQL refuses such a value (SQLite would keep it): without this check the upload or the
    choice of columns failed with a server error. No address is that long (a mail path holds at
    most 254 characters), so the value is a wrong column or a broken row, and the message says which.
    The rows are those of ``table`` (an upload, before it is stored), or else the campaign's stored rows.
    """
    limits = [(address_column, Recipient._meta.get_field("email").max_length, _address_too_long_message)]
    if name_column:
        limits.append((name_column, Recipient._meta.get_field("display_name").max_length, _name_too_long_message))
    rows = (zip(table.row_numbers, table.rows, strict=True) if table is not None else
            campaign.recipients.order_by("row_number").values_list("row_number", "data").iterator(chunk_size=2000))
    found = _first_too_long(rows, limits)
    if found:
        row, length, (column, limit, message) = found
        # At upload the columns were guessed, and can only be chosen once a list is stored.
        advice = (_("Correct the row in the file and upload it again.") if table is not None
                  else _("Choose another column, or correct the row in the file and upload it again."))
        fact = message() % {"row": row, "column": column, "length": f"{length:,}", "limit": limit}
        # Two sentences, joined as the language joins them (Japanese: without a space).
        raise WorkflowError(_("%(fact)s %(advice)s") % {"fact": fact, "advice": advice})


def _first_too_long(rows: Iterable[tuple[int, dict]], limits: list[tuple]) -> tuple[int, int, tuple] | None:
    """The first row with a value longer than its column's limit: its number, the length, the limit.

    ``limits`` are (column, most characters, message) entries. Every row is read, even after a find:
    an open database cursor (the stored rows) must be read to its end, or PostgreSQL fails the
    transaction when the cursor is closed after the refusal rolled it back.
    """
    found = None
    for number, data in rows:
        if found is None:
            found = next(((number, len(data[column]), (column, most, message)) for column, most, message in limits
                          if len(data.get(column, "")) > most), None)
    return found


def _address_too_long_message() -> str:
    return _("Row %(row)d of the column “%(column)s” holds %(length)s characters, more than an email address "
             "can have (%(limit)s), so the column cannot be used for addresses.")


def _name_too_long_message() -> str:
    return _("Row %(row)d of the column “%(column)s” holds %(length)s characters, more than a name can have "
             "(%(limit)s), so the column cannot be used for names.")


def add_attachment(campaign: Campaign, user, filename: str, data: bytes, content_type: str) -> Attachment:
    """Store an attachment after the upload checks: size caps and a type that matches its name.

    What the file contains (addresses, list rows) is judged by the preflight. The
    type stored, and sent, is the one sniffed from the bytes: the browser's
    ``content_type`` is only recorded (a .txt posted as text/html goes out as text/plain).
    """
    limits = settings.MAILGUARD
    try:
        inspected = inspect_attachment(filename, data, max_bytes=limits["MAX_ATTACHMENT_BYTES"])
    except AttachmentRefused as err:
        raise WorkflowError(str(err)) from err
    if not inspected.allowed:
        raise WorkflowError(f"{filename}: {inspected.reason}")
    with transaction.atomic():
        _begin_edit(campaign, user)
        # Under the lock: two uploads at once cannot both fit in the last megabytes.
        existing = sum(campaign.attachments.values_list("size", flat=True))
        if existing + len(data) > limits["MAX_CAMPAIGN_ATTACHMENT_BYTES"]:
            raise WorkflowError(
                _("The attachments together would exceed the limit of %(mb)d MB per campaign.")
                % {"mb": limits["MAX_CAMPAIGN_ATTACHMENT_BYTES"] // (1024 * 1024)}
            )
        attachment = _store_attachment(campaign, filename, data, inspected.mime)
        audit.record(
            "attachment_added", actor=user, campaign=campaign,
            filename=filename, size=len(data), sha256=attachment.sha256, kind=inspected.kind,
            content_type=inspected.mime, declared_type=content_type,
        )
    return attachment


def _store_attachment(campaign: Campaign, filename: str, data: bytes, content_type: str) -> Attachment:
    attachment = Attachment(
        campaign=campaign,
        filename=filename,
        content_type=content_type or "application/octet-stream",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    attachment.file.save(filename, ContentFile(data), save=False)
    attachment.save()
    return attachment


def remove_attachment(campaign: Campaign, user, attachment: Attachment) -> None:
    with transaction.atomic():
        _begin_edit(campaign, user)
        audit.record(
            "attachment_removed", actor=user, campaign=campaign,
            filename=attachment.filename, sha256=attachment.sha256,
        )
        attachment.file.delete(save=False)
        attachment.delete()


# --- Review --------------------------------------------------------------------------


def submit(campaign: Campaign, user) -> None:
    """Freeze the content for review: from here on only a reviewer decides.

    Under the campaign's lock (and the sender identity's): the sender's name and address
    are frozen, and the findings are those of exactly the hashed snapshot (stored ones when
    this version was already checked, see approvals.preflight).
    """
    with transaction.atomic():
        _require_locked("submit", campaign, user)
        _freeze_sender(campaign)
        content_hash, findings = preflight.findings_of(campaign)
        blocking = guards.blocking(findings)
        if not blocking:
            stored = [f.as_dict() for f in findings]
            move(campaign, "submit", State.IN_REVIEW, submitted_hash=content_hash, findings=stored,
                 sender_name=campaign.sender_name, sender_email=campaign.sender_email)
            _note_contributor(campaign, user)
            # The stored runs served the drafting; they quote list data that must not outlive it.
            campaign.preflight_runs.all().delete()
            audit.record(
                "submitted", actor=user, campaign=campaign, content_hash=content_hash,
                recipients=campaign.recipients.count(), findings=len(stored),
                sender=campaign.sender_label,
            )
    # Outside the transaction, so the findings just computed stay stored for the next attempt.
    if blocking:
        campaign.refresh_from_db()  # still a draft: the sender is not frozen
        raise SubmissionBlocked(blocking)


def _freeze_sender(campaign: Campaign) -> None:
    """Copy the identity's name and address into the campaign (saved by the submit move)."""
    if campaign.sender_id is None:
        return
    identity = SenderIdentity.objects.select_for_update().get(pk=campaign.sender_id)
    campaign.sender = identity
    campaign.sender_name, campaign.sender_email = identity.display_name, identity.email


def current_findings(campaign: Campaign) -> list[guards.Finding]:
    """What the edit page shows: the stored findings of this version, else computed under the lock."""
    cached = preflight.cached_findings(campaign)
    if cached is not None:
        return cached
    with transaction.atomic():
        _lock(campaign)
        return preflight.check_now(campaign)[1]


def _check_seen_version(campaign: Campaign, seen_hash: str) -> str:
    current = compute_content_hash(campaign)
    if not (seen_hash == campaign.submitted_hash == current):
        raise WorkflowError(
            _("The campaign changed after you opened it. Review the current version again.")
        )
    return current


def approve(campaign: Campaign, user, seen_hash: str, comment: str = "", acknowledged: Iterable[str] = ()) -> None:
    """Approve exactly the version the reviewer saw, and create the delivery ledger.

    Refused unless the reviewer opened what they must (review_evidence) and ticked
    every finding that needs acknowledgement, one by one.
    """
    acknowledged = sorted(set(acknowledged))
    with transaction.atomic():
        _require_locked("approve", campaign, user)
        _check_acknowledged(campaign, acknowledged)
        missing = review_evidence.missing_evidence(campaign, user)
        if missing:
            raise WorkflowError(missing.refusal())
        refusal = trial_mode.approval_refusal(campaign)
        if refusal:
            raise WorkflowError(refusal)
        requirement = approval_policy.requirement_for(campaign)
        content_hash = _check_seen_version(campaign, seen_hash)
        given = _approvals_before(campaign, user, content_hash)
        review = Review.objects.create(
            campaign=campaign, reviewer=user, decision=Review.Decision.APPROVED,
            comment=comment, content_hash=content_hash, acknowledged=acknowledged,
            policy=requirement.as_record(), submission_event=approval_policy.latest_submission(campaign),
        )
        if given + 1 < requirement.approvals:
            _record_partial_approval(campaign, user, review, given + 1, requirement)
            return
        now = timezone.now()
        move(
            campaign, "approve", State.APPROVED,
            approved_by=user, approved_hash=content_hash, approved_at=now,
            send_after=send_window.start_after_approval(now),
            approved_message_digest=message_digest(campaign),
            canary_size=settings.MAILGUARD["CANARY_SIZE"] or None,
        )
        count = _create_ledger(campaign)
        audit.record(
            "approved", actor=user, campaign=campaign, content_hash=content_hash,
            comment=comment, recipients=count, send_after=campaign.send_after.isoformat(),
            acknowledged=acknowledged, approvals=given + 1, approval_rule=requirement.as_record(),
            **review_evidence.evidence_summary(campaign, user),
        )
        transaction.on_commit(lambda: _enqueue_dispatch(campaign.pk, campaign.send_after))


def _approvals_before(campaign: Campaign, user, content_hash: str) -> int:
    """Approvals of this submission so far; the campaign row is locked so two approvals count in turn."""
    list(Campaign.objects.select_for_update().filter(pk=campaign.pk).values_list("pk", flat=True))
    earlier = approval_policy.approvals_so_far(campaign, content_hash)
    if earlier.filter(reviewer=user).exists():
        raise WorkflowError(_("You have already approved this version; another reviewer must approve it too."))
    return earlier.count()


def _record_partial_approval(campaign: Campaign, user, review: Review, given: int, requirement) -> None:
    """One of the required approvals: the campaign stays in review until the next reviewer approves."""
    audit.record(
        "approval_recorded", actor=user, campaign=campaign, content_hash=review.content_hash,
        comment=review.comment, acknowledged=review.acknowledged, approvals=given,
        required=requirement.approvals, approval_rule=requirement.as_record(),
        **review_evidence.evidence_summary(campaign, user),
    )


def _check_acknowledged(campaign: Campaign, acknowledged: list[str]) -> None:
    required = {f["key"] for f in guards.needing_acknowledgement(campaign.findings)}
    unticked = required - set(acknowledged)
    if unticked:
        raise WorkflowError(
            _("Acknowledge each finding before approving: %(count)d not yet acknowledged.")
            % {"count": len(unticked)}
        )


def reject(campaign: Campaign, user, comment: str) -> None:
    if not comment.strip():
        raise WorkflowError(_("Say what the drafter should change."))
    with transaction.atomic():
        _require_locked("reject", campaign, user)
        move(campaign, "reject", State.REJECTED)
        Review.objects.create(
            campaign=campaign, reviewer=user, decision=Review.Decision.REJECTED,
            comment=comment, content_hash=campaign.submitted_hash,
        )
        audit.record(
            "rejected", actor=user, campaign=campaign,
            content_hash=campaign.submitted_hash, comment=comment,
        )


def cancel(campaign: Campaign, user, reason: str = "") -> None:
    _require("cancel", campaign, user)
    with transaction.atomic():
        move(campaign, "cancel", State.CANCELLED, finished_at=timezone.now())
        campaign.preflight_runs.all().delete()
        stopped = ledger.cancel_pending(campaign.pk)
        audit.record("cancelled", actor=user, campaign=campaign, reason=reason, stopped=stopped)


def pause(campaign: Campaign, user, reason: str = "") -> None:
    """No further batch starts; the one in flight finishes (its messages are already handed over)."""
    _require("pause", campaign, user)
    with transaction.atomic():
        move(campaign, "pause", State.PAUSED, pause_reason=reason or _("Paused by %(user)s.") % {
            "user": user.get_username()})
        audit.record("paused", actor=user, campaign=campaign, reason=reason)


def resume(campaign: Campaign, user) -> None:
    """Continue exactly where sending stopped: only deliveries still pending are sent.

    Only while the content is still the approved one (re-hashed, attachment bytes re-read);
    otherwise the campaign stops with the reason on its page.
    """
    _require("resume", campaign, user)
    _require_approved_content(campaign)
    with transaction.atomic():
        move(campaign, "resume", State.SENDING, pause_reason="")
        audit.record("resumed", actor=user, campaign=campaign)
        transaction.on_commit(lambda: _enqueue_dispatch(campaign.pk, None))


def _require_approved_content(campaign: Campaign) -> None:
    if not transitions.content_still_approved(campaign):
        campaign.refresh_from_db()
        raise WorkflowError(campaign.pause_reason)


def copy_campaign(campaign: Campaign, user, name: str = "") -> Campaign:
    """A resend or an apology starts as a new draft that needs its own review (incidents 6, 12)."""
    if not has_role(user, Role.DRAFTER):
        raise NotAllowed(_("Only drafters can create campaigns."))
    with transaction.atomic():
        copy = Campaign.objects.create(
            name=name or _("Copy of %(name)s") % {"name": campaign.name}, drafter=user, copied_from=campaign,
            sender=campaign.sender, recipient_mode=campaign.recipient_mode, kind=campaign.kind,
            attachment_delivery=campaign.attachment_delivery, subject=campaign.subject,
            body_text=campaign.body_text, body_html=campaign.body_html, list_filename=campaign.list_filename,
            list_sha256=campaign.list_sha256, columns=campaign.columns, address_column=campaign.address_column,
            name_column=campaign.name_column,
        )
        _note_contributor(copy, user)
        Recipient.objects.bulk_create(
            (Recipient(campaign=copy, row_number=r.row_number, email=r.email, display_name=r.display_name,
                       data=r.data) for r in campaign.recipients.iterator(chunk_size=2000)),
            batch_size=2000,
        )
        for attachment in campaign.attachments.exclude(file=""):  # the retention purge removes link files
            with attachment.file.open("rb") as handle:
                data = handle.read()
            _store_attachment(copy, attachment.filename, data, attachment.content_type)
        audit.record("created", actor=user, campaign=copy, name=copy.name, copied_from=campaign.pk)
    return copy


def drop_columns(campaign: Campaign, user, columns: Iterable[str]) -> list[str]:
    """Data minimisation: remove columns the message does not use from every stored row."""
    columns = list(columns)
    if not set(columns) & set(unused_columns_of(campaign)):
        return []
    with transaction.atomic():
        _begin_edit(campaign, user)
        unused = set(unused_columns_of(campaign))
        dropping = [c for c in columns if c in unused]
        if not dropping:
            return []
        batch: list[Recipient] = []
        for recipient in campaign.recipients.iterator(chunk_size=2000):
            recipient.data = {k: v for k, v in recipient.data.items() if k not in dropping}
            batch.append(recipient)
            if len(batch) >= 2000:
                Recipient.objects.bulk_update(batch, ["data"])
                batch.clear()
        Recipient.objects.bulk_update(batch, ["data"])
        campaign.columns = [c for c in campaign.columns if c not in dropping]
        campaign.save(update_fields=["columns", "updated_at"])
        audit.record("columns_dropped", actor=user, campaign=campaign, columns=dropping)
    return dropping


def send_proof(campaign: Campaign, user, recipient: Recipient) -> None:
    """A drafter checks one rendering in their own mailbox; only their account address receives it."""
    from .delivery.proof import send_proof as deliver_proof

    _require_contributing_drafter(campaign, user)
    if not user.email:
        raise WorkflowError(_("Your account has no email address; ask an administrator to add one."))
    try:
        accepted, detail = deliver_proof(campaign, recipient, user.email)
    except MergeError as err:
        raise WorkflowError(_("The proof could not be rendered: %(detail)s") % {"detail": err}) from err
    audit.record("proof_sent", actor=user, campaign=campaign, row=recipient.row_number,
                 to=user.email, accepted=accepted, detail=detail)
    if not accepted:
        raise WorkflowError(_("The proof could not be sent: %(detail)s") % {"detail": detail})


def _require_contributing_drafter(campaign: Campaign, user) -> None:
    if not has_role(user, Role.DRAFTER) or not is_contributor(campaign, user):
        raise NotAllowed(_("Only the campaign's drafters can send proofs."))


def _create_ledger(campaign: Campaign) -> int:
    recipients = campaign.recipients.values_list("pk", "email").iterator(chunk_size=5000)
    addresses = ((recipient_id, sendable_address(email)) for recipient_id, email in recipients)
    return ledger.create(campaign.pk, addresses, message_id_for)


def _enqueue_dispatch(campaign_id: int, send_after) -> None:
    from .tasks import schedule_dispatch

    schedule_dispatch(campaign_id, send_after)


def can_resolve_in_doubt(user) -> bool:
    return has_role(user, Role.REVIEWER) or user.is_superuser


def resolve_in_doubt(campaign: Campaign, user, delivery_ids: Iterable[int], resend: bool) -> int:
    """A person decides about deliveries whose fate is unknown (never guessed by the system)."""
    if not can_resolve_in_doubt(user):
        raise NotAllowed(_("Only reviewers and administrators can resolve deliveries in doubt."))
    ids = list(delivery_ids)
    campaign.refresh_from_db(fields=["state"])
    if resend and campaign.state in (State.PARTLY_FAILED, State.SENDING, State.PAUSED):
        _require_approved_content(campaign)
    with transaction.atomic():
        # The campaign's lock before the audit chain's, as every other action takes them.
        _lock(campaign)
        if resend:
            changed = ledger.resend_in_doubt(campaign.pk, ids)
        else:
            changed = ledger.mark_in_doubt_delivered(campaign.pk, ids)
        audit.record(
            "in_doubt_resent" if resend else "in_doubt_marked_delivered",
            actor=user, campaign=campaign, deliveries=ids[:1000], count=changed,
        )
        if resend and changed and campaign.state == State.PARTLY_FAILED:
            move(campaign, "reopen", State.SENDING)
        if resend and changed:
            transaction.on_commit(lambda: _enqueue_dispatch(campaign.pk, None))
    return changed


# --- Download links ------------------------------------------------------------------


def _downloads_person_refusal(campaign: Campaign, user) -> str | None:
    if not user.is_authenticated or not user.is_active:
        return _("Please sign in.")
    if not (is_contributor(campaign, user) or has_role(user, Role.REVIEWER) or user.is_superuser):
        return _("Only the campaign's drafters, reviewers and administrators can stop its downloads.")
    return None


def _downloads_state_refusal(campaign: Campaign) -> str | None:
    if campaign.attachment_delivery != Campaign.AttachmentDelivery.LINKS or not campaign.approved_hash:
        return _("This campaign sent no download links.")
    if campaign.downloads_stopped_at is not None:
        return _("The downloads of this campaign are already stopped.")
    return None


def can_stop_downloads(campaign: Campaign, user) -> bool:
    return _downloads_person_refusal(campaign, user) is None and _downloads_state_refusal(campaign) is None


def stop_downloads(campaign: Campaign, user, reason: str = "") -> None:
    """Revoke every download link of the campaign at once, for good (a mistaken send: incident 9)."""
    refusal = _downloads_person_refusal(campaign, user)
    if refusal:
        raise NotAllowed(refusal)
    campaign.refresh_from_db(fields=["approved_hash", "attachment_delivery", "downloads_stopped_at"])
    refusal = _downloads_state_refusal(campaign)
    if refusal:
        raise WorkflowError(refusal)
    with transaction.atomic():
        now = timezone.now()
        # Conditional, so two people pressing the button at once record one stop.
        if not Campaign.objects.filter(pk=campaign.pk, downloads_stopped_at__isnull=True).update(
                downloads_stopped_at=now, updated_at=now):
            raise WorkflowError(_("The downloads of this campaign are already stopped."))
        campaign.downloads_stopped_at = now
        downloaded = campaign.deliveries.filter(downloads__outcome=Download.Outcome.DOWNLOADED).distinct().count()
        audit.record("downloads_stopped", actor=user, campaign=campaign, reason=reason,
                     recipients_who_downloaded=downloaded)
