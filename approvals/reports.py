"""The incident report for one campaign: the facts an APPI report to the PPC asks for.

Who was affected (how many recipients, distinct addresses, which domains), which
personal data was stored and which was put into the message, whether the
preflight flagged sensitive content, who drafted and who approved which exact
version, what happened when (UTC), and what the delivery ledger says. Built as a
plain dict of strings, numbers, booleans and lists so it can be shown as a page,
downloaded as JSON, or flattened to CSV by ``report_tables``.

``approved_version`` gathers the evidence of one approval: the stored findings
and which of them the reviewer ticked, what they opened, and whether the
content and the attachments' bytes still hash to what was approved.
"""

import hashlib
from collections import Counter
from datetime import UTC, datetime

from django.db.models import Count, Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from . import timeline
from .content_hash import compute_content_hash
from .guards.context import used_fields_of
from .guards.texts import display
from .models import AuditEvent, Campaign, Delivery, Review, ReviewActivity

# Persons above which a leak must be reported to the PPC (APPI as amended 2022).
REPORTING_THRESHOLD = 1000
# Stored findings about personal or sensitive content (the preflight's code families).
SENSITIVE_PREFIXES = ("pii.", "message.", "attachment.")
PURGE_ACTION = "personal_data_purged"


def utc(value: datetime | None) -> str:
    """ISO 8601 in UTC with a Z, the same in every export; empty when there is no time."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _username(user) -> str:
    return user.get_username() if user else ""


def approving_review(campaign: Campaign) -> Review | None:
    """The review that approved the version that was sent (the latest one for the approved hash)."""
    if not campaign.approved_hash:
        return None
    return (
        campaign.reviews.filter(decision=Review.Decision.APPROVED, content_hash=campaign.approved_hash)
        .select_related("reviewer")
        .order_by("-created_at", "-id")
        .first()
    )


def purge_event(campaign: Campaign) -> AuditEvent | None:
    return campaign.events.filter(action=PURGE_ACTION).order_by("id").first()


def _persons(campaign: Campaign, purged: AuditEvent | None) -> dict:
    recipients = campaign.recipients.count()
    if purged is not None:
        # The addresses are gone; the counts were recorded in the audit log when they were removed.
        details = purged.details
        distinct = int(details.get("distinct_addresses", 0))
        return {
            "recipients": recipients,
            "distinct_addresses": distinct,
            "domains": [],
            "domain_count": int(details.get("domains", 0)),
            "over_reporting_threshold": distinct > REPORTING_THRESHOLD,
            "purged": True,
            "purged_at": utc(purged.created_at),
        }
    addresses = {email.strip().lower() for email in campaign.recipients.values_list("email", flat=True).iterator()}
    domains = Counter(address.rsplit("@", 1)[-1] for address in addresses)
    return {
        "recipients": recipients,
        "distinct_addresses": len(addresses),
        "domains": [{"domain": domain, "addresses": n} for domain, n in sorted(domains.items(),
                                                                                key=lambda item: (-item[1], item[0]))],
        "domain_count": len(domains),
        "over_reporting_threshold": len(addresses) > REPORTING_THRESHOLD,
        "purged": False,
        "purged_at": "",
    }


def _uploaded_columns(campaign: Campaign) -> list[str]:
    """The columns of the list as uploaded (before any were dropped for data minimisation)."""
    event = campaign.events.filter(action="list_uploaded").order_by("-id").first()
    if event is None:
        return list(campaign.columns)
    return list(event.details.get("columns") or campaign.columns)


def _personal_data(campaign: Campaign) -> dict:
    used = used_fields_of(campaign)
    in_headers = [c for c in (campaign.address_column, campaign.name_column) if c]
    return {
        "uploaded_columns": _uploaded_columns(campaign),
        "stored_columns": list(campaign.columns),
        "address_column": campaign.address_column,
        "name_column": campaign.name_column,
        "used_in_message": [c for c in campaign.columns if c in used],
        "used_in_headers": in_headers,
        "not_used": [c for c in campaign.columns if c not in used and c not in in_headers],
    }


def _sensitive(campaign: Campaign, acknowledged: set[str]) -> dict:
    findings = [
        {
            "code": f.get("code", ""),
            "severity": f.get("severity", ""),
            "message": display(f)["message"],
            "rows": len(f.get("rows") or []),
            "files": list(f.get("files") or []),
            "acknowledged": f.get("key", "") in acknowledged,
        }
        for f in campaign.findings
        if str(f.get("code", "")).startswith(SENSITIVE_PREFIXES)
    ]
    return {"flagged": bool(findings), "findings": findings}


def _deliveries(campaign: Campaign) -> dict:
    counts = {status: 0 for status in Delivery.Status.values}
    counts.update(campaign.deliveries.order_by().values_list("status").annotate(n=Count("id")))
    sent = campaign.deliveries.filter(status=Delivery.Status.SENT).aggregate(first=Min("sent_at"), last=Max("sent_at"))
    last_change = campaign.deliveries.exclude(status=Delivery.Status.PENDING).aggregate(last=Max("updated_at"))
    return {
        "total": sum(counts.values()),
        "counts": dict(counts),
        "first_sent_at": utc(sent["first"]),
        "last_sent_at": utc(sent["last"]),
        "last_outcome_at": utc(last_change["last"]),
    }


def _timeline(campaign: Campaign, deliveries: dict) -> list[dict]:
    rows = [
        {"time": utc(e.created_at), "actor": e.actor_name, "action": e.action, "label": timeline.label(e.action),
         "note": timeline.note(e.action, e.details), "content_hash": e.content_hash, "source": "audit"}
        for e in campaign.events.order_by("id")
    ]
    for key, action in (("first_sent_at", "first_message_accepted"), ("last_sent_at", "last_message_accepted")):
        if deliveries[key]:
            rows.append({"time": deliveries[key], "actor": "system", "action": action,
                         "label": timeline.label(action), "note": "", "content_hash": "", "source": "ledger"})
    # ISO times in UTC sort as text; the audit rows keep their order within one second.
    return sorted(rows, key=lambda row: row["time"])


def incident_report(campaign: Campaign) -> dict:
    review = approving_review(campaign)
    acknowledged = list(review.acknowledged) if review else []
    purged = purge_event(campaign)
    deliveries = _deliveries(campaign)
    return {
        "generated_at": utc(timezone.now()),
        "campaign": {
            "id": campaign.pk,
            "name": campaign.name,
            "state": campaign.state,
            "state_label": str(campaign.get_state_display()),
            "drafter": _username(campaign.drafter),
            "sender": campaign.sender_label,
            "recipient_mode": campaign.recipient_mode,
            "recipient_mode_label": str(campaign.get_recipient_mode_display()),
            "list_filename": campaign.list_filename,
            "list_sha256": campaign.list_sha256,
            "copied_from": campaign.copied_from_id,
            "created_at": utc(campaign.created_at),
            "approved_at": utc(campaign.approved_at),
            "sending_started_at": utc(campaign.sending_started_at),
            "finished_at": utc(campaign.finished_at),
        },
        "persons": _persons(campaign, purged),
        "personal_data": _personal_data(campaign),
        "sensitive": _sensitive(campaign, set(acknowledged)),
        "approval": {
            "approved_by": _username(campaign.approved_by),
            "approved_at": utc(campaign.approved_at),
            "approved_hash": campaign.approved_hash,
            "submitted_hash": campaign.submitted_hash,
            "acknowledged": acknowledged,
            "comment": review.comment if review else "",
        },
        "deliveries": deliveries,
        "timeline": _timeline(campaign, deliveries),
    }


def _yes_no(value: bool) -> str:
    return _("yes") if value else _("no")


def report_tables(report: dict) -> list[tuple[str, list[str], list[list]]]:
    """The report as titled tables (title, header, rows) for CSV: one block per section."""
    c, p, d, a = report["campaign"], report["persons"], report["personal_data"], report["approval"]
    status_labels = dict(Delivery.Status.choices)
    item, value = _("Item"), _("Value")
    return [
        (_("Campaign"), [item, value], [
            [_("Campaign id"), c["id"]], [_("Campaign name"), c["name"]], [_("State"), c["state_label"]],
            [_("Drafter"), c["drafter"]], [_("Sender"), c["sender"]],
            [_("Recipient field mode"), c["recipient_mode_label"]],
            [_("Recipient list file"), c["list_filename"]], [_("Recipient list SHA-256"), c["list_sha256"]],
            [_("Created (UTC)"), c["created_at"]], [_("Approved (UTC)"), c["approved_at"]],
            [_("Sending started (UTC)"), c["sending_started_at"]], [_("Finished (UTC)"), c["finished_at"]],
            [_("Report generated (UTC)"), report["generated_at"]],
        ]),
        (_("Persons affected"), [item, value], [
            [_("Recipients (list rows)"), p["recipients"]], [_("Distinct addresses"), p["distinct_addresses"]],
            [_("Domains"), p["domain_count"]],
            [_("More than 1,000 persons"), _yes_no(p["over_reporting_threshold"])],
            [_("Personal data purged (UTC)"), p["purged_at"]],
        ]),
        (_("Recipient domains"), [_("Domain"), _("Addresses")],
         [[row["domain"], row["addresses"]] for row in p["domains"]]),
        (_("Personal data"), [item, value], [
            [_("Columns uploaded"), ", ".join(d["uploaded_columns"])],
            [_("Columns stored"), ", ".join(d["stored_columns"])],
            [_("Address column"), d["address_column"]], [_("Display-name column"), d["name_column"]],
            [_("Columns used in the message"), ", ".join(d["used_in_message"])],
            [_("Columns stored but not used"), ", ".join(d["not_used"])],
        ]),
        (_("Sensitive content flagged at submission"),
         [_("Code"), _("Severity"), _("Rows"), _("Files"), _("Acknowledged by the reviewer"), _("Message")],
         [[f["code"], f["severity"], f["rows"], ", ".join(f["files"]), _yes_no(f["acknowledged"]), f["message"]]
          for f in report["sensitive"]["findings"]]),
        (_("Approval"), [item, value], [
            [_("Approved by"), a["approved_by"]], [_("Approved (UTC)"), a["approved_at"]],
            [_("Approved content hash"), a["approved_hash"]],
            [_("Acknowledged findings"), ", ".join(a["acknowledged"])], [_("Comment"), a["comment"]],
        ]),
        (_("Deliveries"), [_("Status"), _("Count")],
         [[status_labels.get(status, status), n] for status, n in report["deliveries"]["counts"].items()]
         + [[_("First message accepted (UTC)"), report["deliveries"]["first_sent_at"]],
            [_("Last message accepted (UTC)"), report["deliveries"]["last_sent_at"]]]),
        (_("Timeline (UTC)"),
         [_("When"), _("Who"), _("What"), _("Reason or detail"), _("Content hash"), _("Source"), _("Action code")],
         [[row["time"], row["actor"], row["label"], row["note"], row["content_hash"], row["source"], row["action"]]
          for row in report["timeline"]]),
    ]


# --- The exact approved version -----------------------------------------------------------


def _file_sha256(attachment) -> str | None:
    """The SHA-256 of the stored bytes now; None when the file cannot be read."""
    digest = hashlib.sha256()
    try:
        with attachment.file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1024 * 1024), b""):
                digest.update(chunk)
    except (OSError, ValueError):
        return None
    return digest.hexdigest()


def approved_version(campaign: Campaign) -> dict:
    """What the reviewer approved, what they ticked and opened, and whether it still hashes the same."""
    review = approving_review(campaign)
    acknowledged = set(review.acknowledged) if review else set()
    findings = [{**display(f), "acknowledged": f.get("key") in acknowledged} for f in campaign.findings]
    attachments = []
    for attachment in campaign.attachments.order_by("filename", "id"):
        found = _file_sha256(attachment)
        attachments.append({
            "id": attachment.pk, "filename": attachment.filename, "content_type": attachment.content_type,
            "size": attachment.size, "sha256": attachment.sha256, "bytes_sha256": found,
            "bytes_match": found == attachment.sha256,
        })
    activity = []
    if review is not None:
        rows = list(
            ReviewActivity.objects.filter(
                campaign=campaign, reviewer=review.reviewer, content_hash=campaign.approved_hash
            ).order_by("created_at", "id")
        )
        recipient_ids = [a.object_id for a in rows if a.kind == ReviewActivity.Kind.PREVIEW]
        recipients = {
            pk: (row_number, email)
            for pk, row_number, email in campaign.recipients.filter(pk__in=recipient_ids).values_list(
                "pk", "row_number", "email")
        }
        filenames = {a["id"]: a["filename"] for a in attachments}
        for a in rows:
            if a.kind == ReviewActivity.Kind.PREVIEW:
                row_number, email = recipients.get(a.object_id, (None, ""))
                what = {"row": row_number, "email": email, "filename": ""}
            else:
                what = {"row": None, "email": "", "filename": filenames.get(a.object_id, "")}
            activity.append({"kind": a.kind, "kind_label": str(a.get_kind_display()), "object_id": a.object_id,
                             "at": a.created_at, **what})
    opened_files = {a["object_id"] for a in activity if a["kind"] == ReviewActivity.Kind.ATTACHMENT}
    for attachment in attachments:
        attachment["opened"] = attachment["id"] in opened_files
    current = compute_content_hash(campaign) if campaign.approved_hash else ""
    return {
        "review": review,
        "acknowledged": sorted(acknowledged),
        "findings": findings,
        "attachments": attachments,
        "activity": activity,
        "previews_opened": sum(1 for a in activity if a["kind"] == ReviewActivity.Kind.PREVIEW),
        "current_hash": current,
        "hash_matches": bool(campaign.approved_hash) and current == campaign.approved_hash,
        "attachments_match": all(a["bytes_match"] for a in attachments),
        "purged": purge_event(campaign),
    }
