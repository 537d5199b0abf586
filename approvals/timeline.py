"""What each audit action means in words people read, and the reason or detail worth showing with it.

The audit log stores stable codes (``list_uploaded``, ``sending_started``); pages and reports
show these labels in the reader's language. A code without a label (an action added later)
is shown as its code rather than hidden. The notes repeat what a person typed (a cancel or
reject reason, a reviewer's comment) or a short fact from the event; never a recipient's
address, which audit events do not carry.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import AuditEvent, Campaign, Suppression

LABELS = {
    "created": gettext_lazy("Campaign created"),
    "edited": gettext_lazy("Message edited"),
    "list_uploaded": gettext_lazy("Recipient list uploaded"),
    "columns_chosen": gettext_lazy("Address and name columns chosen"),
    "columns_dropped": gettext_lazy("Unused columns removed from the list"),
    "attachment_added": gettext_lazy("Attachment added"),
    "attachment_removed": gettext_lazy("Attachment removed"),
    "proof_sent": gettext_lazy("Proof sent to the drafter"),
    "submitted": gettext_lazy("Submitted for review"),
    "approved": gettext_lazy("Approved"),
    "rejected": gettext_lazy("Rejected"),
    "cancelled": gettext_lazy("Cancelled"),
    "paused": gettext_lazy("Sending paused"),
    "resumed": gettext_lazy("Sending resumed"),
    "canary_paused": gettext_lazy("Paused after the first recipients (staged send)"),
    "seed_sent": gettext_lazy("Marked copy sent to a seed address"),
    "sending_started": gettext_lazy("Sending started"),
    "sending_finished": gettext_lazy("Sending finished"),
    "send_refused_content_changed": gettext_lazy("Sending refused: the content changed after approval"),
    "in_doubt_resent": gettext_lazy("Deliveries in doubt sent again"),
    "in_doubt_marked_delivered": gettext_lazy("Deliveries in doubt marked as delivered"),
    "address_suppressed": gettext_lazy("Address added to the suppression list"),
    "personal_data_purged": gettext_lazy("Personal data removed (retention)"),
    "approval_recorded": gettext_lazy("Approved; another reviewer must approve too"),
    "review_expired": gettext_lazy("Review request expired; back to draft"),
    "downloads_stopped": gettext_lazy("Download links stopped"),
    "unsubscribed": gettext_lazy("A recipient unsubscribed"),
    # Accounts and settings (events of no campaign; approvals.account_audit and the admin).
    "user_created": gettext_lazy("Account created"),
    "user_changed": gettext_lazy("Account changed"),
    "user_deleted": gettext_lazy("Account deleted"),
    "group_created": gettext_lazy("Role group created"),
    "group_changed": gettext_lazy("Role group changed"),
    "group_deleted": gettext_lazy("Role group deleted"),
    "role_granted": gettext_lazy("Role granted"),
    "role_revoked": gettext_lazy("Role taken away"),
    "permissions_changed": gettext_lazy("Permissions changed"),
    "sender_identity_created": gettext_lazy("Sender identity created"),
    "sender_identity_changed": gettext_lazy("Sender identity changed"),
    "sender_identity_deleted": gettext_lazy("Sender identity deleted"),
    "internal_domain_created": gettext_lazy("Internal domain added"),
    "internal_domain_changed": gettext_lazy("Internal domain changed"),
    "internal_domain_deleted": gettext_lazy("Internal domain removed"),
    "approval_policy_changed": gettext_lazy("Approval policy changed"),
    "approval_policy_removed": gettext_lazy("Approval policy removed"),
    "organisation_rule_saved": gettext_lazy("Organisation rule saved"),
    "organisation_rule_deleted": gettext_lazy("Organisation rule deleted"),
    "organisation_rules_imported": gettext_lazy("Organisation rules imported"),
    "trial_mode_started": gettext_lazy("Trial mode switched on"),
    "trial_mode_lifted": gettext_lazy("Trial mode lifted"),
    # Rows the incident report adds from the ledger.
    "first_message_accepted": gettext_lazy("First message accepted by the ESP"),
    "last_message_accepted": gettext_lazy("Last message accepted by the ESP"),
}

# Events that stop a campaign for good: their reason belongs on the campaign page.
STOPPING_ACTIONS = ("cancelled", "send_refused_content_changed")


def label(action: str) -> str:
    return str(LABELS.get(action, action))


def _count(value) -> str:
    return number_format(value or 0, force_grouping=True)


def _fields(details: dict) -> str:
    names = []
    for name in details.get("fields") or []:
        try:
            names.append(str(Campaign._meta.get_field(name).verbose_name))
        except Exception:  # noqa: BLE001 - a field that no longer exists keeps its name
            names.append(str(name))
    return ", ".join(names)


def _list_uploaded(details: dict) -> str:
    return _("%(file)s, %(rows)s rows") % {"file": details.get("filename", ""), "rows": _count(details.get("rows"))}


def _finished(details: dict) -> str:
    return _("sent %(sent)s, failed %(failed)s, in doubt %(in_doubt)s") % {
        "sent": _count(details.get("sent")), "failed": _count(details.get("failed")),
        "in_doubt": _count(details.get("in_doubt"))}


def _suppressed(details: dict) -> str:
    reasons = dict(Suppression.Reason.choices)
    reason = details.get("reason", "")
    return str(reasons.get(reason, reason))


def _in_doubt(details: dict) -> str:
    return _("%(count)s deliveries") % {"count": _count(details.get("count"))}


NOTES: dict[str, Callable[[dict], str]] = {
    "edited": _fields,
    "list_uploaded": _list_uploaded,
    "columns_chosen": lambda d: " / ".join(c for c in (d.get("address_column"), d.get("name_column")) if c),
    "columns_dropped": lambda d: ", ".join(d.get("columns") or []),
    "attachment_added": lambda d: d.get("filename", ""),
    "attachment_removed": lambda d: d.get("filename", ""),
    "proof_sent": lambda d: _("row %(row)s to %(to)s") % {"row": d.get("row", ""), "to": d.get("to", "")},
    "approved": lambda d: d.get("comment", ""),
    "rejected": lambda d: d.get("comment", ""),
    "cancelled": lambda d: d.get("reason", ""),
    "paused": lambda d: d.get("reason", ""),
    "sending_finished": _finished,
    "in_doubt_resent": _in_doubt,
    "in_doubt_marked_delivered": _in_doubt,
    "address_suppressed": _suppressed,
    "personal_data_purged": lambda d: _("%(count)s recipients") % {"count": _count(d.get("recipients"))},
    "approval_recorded": lambda d: " ".join(part for part in (
        _("%(given)s of %(required)s approvals") % {"given": d.get("approvals", ""), "required": d.get("required", "")},
        d.get("comment", "")) if part),
    "review_expired": lambda d: _("after %(days)s days") % {"days": d.get("days", "")},
    "downloads_stopped": lambda d: d.get("reason", ""),
    "unsubscribed": lambda d: _("row %(row)s") % {"row": d.get("row", "")},
    "role_granted": lambda d: f"{d.get('username', '')}: {d.get('role', '')}",
    "role_revoked": lambda d: f"{d.get('username', '')}: {d.get('role', '')}",
    "trial_mode_started": lambda d: d.get("user", ""),
    "trial_mode_lifted": lambda d: d.get("user", ""),
}


@dataclass(frozen=True)
class Entry:
    created_at: datetime
    actor_name: str
    action: str
    label: str
    note: str
    content_hash: str


def note(action: str, details: dict) -> str:
    make = NOTES.get(action)
    return str(make(details or {})) if make else ""


def entry(event: AuditEvent) -> Entry:
    return Entry(created_at=event.created_at, actor_name=event.actor_name, action=event.action,
                 label=label(event.action), note=note(event.action, event.details),
                 content_hash=event.content_hash)
