"""Risk-tiered approval: how many approvals a version needs, and why.

An administrator sets the thresholds (``ApprovalPolicy``, one row, in the admin):
more recipients than N, recipients at more external domains than M, any
attachment, a finding of chosen kinds that must be acknowledged, chosen sender
identities; an organisation rule with the action "require a second approver"
has the same effect. When any applies, two different reviewers must each approve
the same submitted version (neither may have drafted or edited it). Only
approvals of the current submission with the current content hash count, so any
change of content — which needs a new submission — starts again from zero.

The workflow asks ``requirement_for`` and ``approvals_so_far`` and decides the
state move itself (``workflow.approve``); the rule that applied is stored with
each approval (``Review.policy``) and in the audit event.
"""

from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from .domains import domain_of
from .guards.org_rules import SECOND_APPROVER_PREFIX
from .models import ApprovalPolicy, AuditEvent, Campaign, InternalDomain, Review

TWO_APPROVALS = 2


@dataclass(frozen=True)
class Requirement:
    approvals: int
    # Why: [{"code": "recipients", "limit": 500, "value": 1200}, ...] (rendered by ``describe``).
    reasons: list[dict] = field(default_factory=list)

    def as_record(self) -> dict:
        return {"required": self.approvals, "reasons": self.reasons}


def current_policy() -> ApprovalPolicy | None:
    return ApprovalPolicy.objects.prefetch_related("sender_identities").order_by("pk").first()


def requirement_for(campaign: Campaign) -> Requirement:
    """How many approvals this campaign's submitted version needs, under today's policy."""
    reasons = _org_rule_reasons(campaign)
    policy = current_policy()
    if policy is not None:
        reasons = _policy_reasons(policy, campaign) + reasons
    return Requirement(TWO_APPROVALS if reasons else 1, reasons)


def _policy_reasons(policy: ApprovalPolicy, campaign: Campaign) -> list[dict]:
    reasons = []
    if policy.recipients_above is not None:
        count = campaign.recipients.count()
        if count > policy.recipients_above:
            reasons.append({"code": "recipients", "limit": policy.recipients_above, "value": count})
    if policy.external_domains_above is not None:
        external = _external_domains(campaign)
        if len(external) > policy.external_domains_above:
            reasons.append({"code": "external_domains", "limit": policy.external_domains_above,
                            "value": len(external)})
    if policy.any_attachment and campaign.attachments.exists():
        reasons.append({"code": "attachment", "value": campaign.attachments.count()})
    chosen = [f["code"] for f in campaign.findings
              if f["severity"] == "acknowledge" and _code_chosen(f["code"], policy.codes)]
    if chosen:
        reasons.append({"code": "finding", "findings": sorted(set(chosen))})
    if campaign.sender_id and any(s.pk == campaign.sender_id for s in policy.sender_identities.all()):
        reasons.append({"code": "sender", "sender": campaign.sender.email})
    return reasons


def _code_chosen(code: str, chosen: list[str]) -> bool:
    return any(fnmatchcase(code, wanted) for wanted in chosen)


def _external_domains(campaign: Campaign) -> set[str]:
    internal = set(InternalDomain.objects.values_list("domain", flat=True))
    domains = {domain_of(email) for email in campaign.recipients.values_list("email", flat=True).iterator(5000)}
    return domains - internal


def _org_rule_reasons(campaign: Campaign) -> list[dict]:
    rules = sorted({f["code"] for f in campaign.findings if f["code"].startswith(SECOND_APPROVER_PREFIX)})
    return [{"code": "org_rule", "findings": rules}] if rules else []


# --- Approvals given so far ---------------------------------------------------------------


def latest_submission(campaign: Campaign) -> AuditEvent | None:
    return campaign.events.filter(action="submitted").order_by("-id").first()


def approvals_so_far(campaign: Campaign, content_hash: str | None = None) -> QuerySet[Review]:
    """Approvals of this very submission (and content hash); earlier rounds never count."""
    reviews = campaign.reviews.filter(
        decision=Review.Decision.APPROVED, submission_event=latest_submission(campaign),
        content_hash=content_hash or campaign.submitted_hash,
    )
    return reviews.select_related("reviewer").order_by("created_at")


def has_approved(campaign: Campaign, user) -> bool:
    return approvals_so_far(campaign).filter(reviewer=user).exists()


@dataclass(frozen=True)
class Progress:
    """For pages: "1 of 2", who approved, and why two are needed."""

    given: list[Review]
    requirement: Requirement

    @property
    def count(self) -> int:
        return len(self.given)

    @property
    def required(self) -> int:
        return self.requirement.approvals

    @property
    def reasons(self) -> list[str]:
        return describe(self.requirement.as_record())


def progress(campaign: Campaign) -> Progress:
    return Progress(list(approvals_so_far(campaign)), requirement_for(campaign))


def describe(record: dict) -> list[str]:
    """The stored rule as sentences in the reader's language (auditor and review pages)."""
    return [_describe_reason(reason) for reason in record.get("reasons", [])]


def _describe_reason(reason: dict) -> str:
    code = reason.get("code")
    if code == "recipients":
        return _("%(value)d recipients: more than %(limit)d") % reason
    if code == "external_domains":
        return _("recipients at %(value)d external domains: more than %(limit)d") % reason
    if code == "attachment":
        return _("the message has attachments")
    if code == "finding":
        return _("findings of these kinds: %(codes)s") % {"codes": ", ".join(reason.get("findings", []))}
    if code == "sender":
        return _("the sender %(sender)s always needs two approvals") % reason
    if code == "org_rule":
        return _("an organisation rule requires a second approver: %(codes)s") % {
            "codes": ", ".join(reason.get("findings", []))}
    return str(code)
