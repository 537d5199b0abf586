"""The preflight of one content version, computed once and reused while nothing changes.

Findings are stored per campaign under a key that covers the content hash of the
snapshot they were computed on and everything else the checks read: the other
campaign fields they use, the internal domains, the suppression list, the
organisation's rules, the approved senders and the sender domain's last DNS check,
trial mode, the policy settings, the version of the checks' code and the language
of the messages. The hash is computed from the very rows the checks read, and a row
is written only while the campaign's row lock is held, so hash and findings always
describe the same snapshot: the edit page reruns the preflight only when something
changed, and submission takes the findings of exactly the version it submits.

Known limits:
- the checks also read other campaigns' sent deliveries (names that changed since,
  domains mail went to before); a stored result notices those only when a campaign
  finishes (their count and time are part of the key). For domains that errs towards
  more findings: domains only join that set, and a known domain only removes a typo finding;
- the suppression list is keyed by its size and newest entry. An entry added and
  removed again while a preflight was loading its data leaves that preflight's
  extra finding in place until the next change.
"""

import hashlib
import json
from functools import cache
from pathlib import Path

from django.conf import settings
from django.db.models import Count, Max
from django.utils import translation

from . import guards, sender_auth, trial_mode
from .content_hash import compute_content_hash, hash_of
from .guards.context import PreflightContext
from .guards.findings import Finding, Severity
from .models import Campaign, InternalDomain, OrganisationRule, PreflightRun, SenderIdentity, Suppression

# Keep a few versions per campaign (a drafter going back and forth), not every one ever seen.
KEEP_PER_CAMPAIGN = 5
FINISHED = (Campaign.State.SENT, Campaign.State.PARTLY_FAILED)


def findings_of(campaign: Campaign) -> tuple[str, list[Finding]]:
    """(content hash, findings) of the campaign as it is now: from the store when this version was checked.

    Call inside a transaction that holds the campaign's lock (submission does): the result is then
    the findings of exactly the version that is hashed.
    """
    content_hash = compute_content_hash(campaign)
    stored = _stored(campaign, _key(_environment(campaign), content_hash))
    if stored is not None:
        return content_hash, stored
    return check_now(campaign)


def cached_findings(campaign: Campaign) -> list[Finding] | None:
    """The stored findings of the campaign as it is now, or None when this version was never checked."""
    return _stored(campaign, _key(_environment(campaign), compute_content_hash(campaign)))


def check_now(campaign: Campaign) -> tuple[str, list[Finding]]:
    """Run the checks and hash the very snapshot they read, so both describe one version.

    Call while holding the campaign's lock. The rows are read once, for the checks and the hash
    alike (on a 45 MB list each extra read and hash costs a third of a second). Everything else
    the checks depend on is read first: if it changes meanwhile, the stored key is the older one
    and the next look-up misses instead of finding results that are out of date.
    """
    environment = _environment(campaign)
    context = PreflightContext.load(campaign)
    rows = ((row.row_number, row.email, row.display_name, row.data) for row in context.rows)
    content_hash = hash_of(campaign, rows, context.stored_attachments)
    key = _key(environment, content_hash)
    findings = _stored(campaign, key)  # another request may have checked this version meanwhile
    if findings is None:
        findings = guards.run_checks(context)
        _store(campaign, key, content_hash, findings)
    return content_hash, findings


def _stored(campaign: Campaign, key: str) -> list[Finding] | None:
    stored = PreflightRun.objects.filter(campaign=campaign, key=key).values_list("findings", flat=True).first()
    return None if stored is None else [_finding(data) for data in stored]


def _store(campaign: Campaign, key: str, content_hash: str, findings: list[Finding]) -> None:
    PreflightRun.objects.update_or_create(
        campaign=campaign, key=key,
        defaults={"content_hash": content_hash, "findings": [f.as_dict() for f in findings]},
    )
    older = campaign.preflight_runs.order_by("-created_at", "-id").values_list("id", flat=True)[KEEP_PER_CAMPAIGN:]
    PreflightRun.objects.filter(id__in=list(older)).delete()


def _finding(data: dict) -> Finding:
    return Finding(data["code"], Severity(data["severity"]), data.get("params") or {},
                   rows=tuple(data.get("rows", ())), files=tuple(data.get("files", ())),
                   items=tuple(tuple(item) for item in data.get("items", ())))


def _environment(campaign: Campaign) -> dict:
    """Everything but the content hash that the checks' results depend on."""
    sender = campaign.sender
    suppressed = Suppression.objects.aggregate(n=Count("id"), last=Max("id"))
    finished = Campaign.objects.filter(state__in=FINISHED).aggregate(n=Count("id"), last=Max("finished_at"))
    return {
        "campaign": [campaign.pk, campaign.list_sha256, campaign.list_filename, list(campaign.columns)],
        "sender": [sender.active, sender.display_name, sender.email] if sender else None,
        "internal_domains": sorted(InternalDomain.objects.values_list("domain", flat=True)),
        "suppressed": [suppressed["n"], suppressed["last"]],
        "names_history": [finished["n"], str(finished["last"])],
        # What else the checks read (guards.context): the organisation's rules, the approved senders'
        # domains, the sender domain's SPF/DKIM/DMARC as last looked up, and trial mode.
        "organisation_rules": list(OrganisationRule.objects.filter(enabled=True).order_by("id").values()),
        "sender_domains": sorted(SenderIdentity.objects.filter(active=True).values_list("email", flat=True)),
        "sender_auth": sender_auth.stored_state(sender),
        "trial": trial_mode.campaign_in_trial(campaign),
        "policy": settings.MAILGUARD,
        "code": _code_version(),
        # Only block findings about merge fields carry words (the parser's), in this language.
        "language": translation.get_language(),
    }


def _key(environment: dict, content_hash: str) -> str:
    parts = {**environment, "content": content_hash}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


@cache
def _code_version() -> str:
    """The checks' own source: findings computed by an earlier release are not reused after an upgrade."""
    package = Path(guards.__file__).parent
    digest = hashlib.sha256()
    for path in sorted([*package.glob("*.py"), package.parent / "merge.py", *package.parent.glob("intake/*.py")]):
        digest.update(path.read_bytes())
    return digest.hexdigest()
