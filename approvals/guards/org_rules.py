"""The organisation's own rules (administrators write them; see approvals.org_rules).

Each enabled rule looks at one part of the campaign as the drafter wrote it: the
subject, a body (the template, before merge fields are filled in), attachment
names, the text extracted from attachments, or the recipients' domains. A match
becomes a finding with the rule's own message and the rule's action: a note, an
acknowledgement, a block, or an acknowledgement that also requires a second
approver (approvals.approval_policy reads those from the stored findings).
"""

from collections import defaultdict
from collections.abc import Iterator

from django.conf import settings

from ..domains import domain_of
from ..intake.attachments import AttachmentRefused, inspect_attachment
from ..models import OrganisationRule
from ..org_rules import Prepared, RuleError, compile_rule, domain_matcher, prepare
from .context import PreflightContext
from .findings import Finding, Severity

Target = OrganisationRule.Target
Action = OrganisationRule.Action
SEVERITY = {
    Action.INFO: Severity.INFO,
    Action.ACKNOWLEDGE: Severity.ACKNOWLEDGE,
    Action.BLOCK: Severity.BLOCK,
    Action.SECOND_APPROVER: Severity.ACKNOWLEDGE,
}
SECOND_APPROVER_PREFIX = f"org_rule.{Action.SECOND_APPROVER}."
MESSAGE_TARGETS = {Target.SUBJECT: "subject", Target.BODY_TEXT: "body_text", Target.BODY_HTML: "body_html"}


def organisation_rules(ctx: PreflightContext) -> Iterator[Finding]:
    texts = _Texts(ctx)
    for rule in ctx.organisation_rules:
        try:
            yield from _apply(rule, ctx, texts)
        except RuleError:
            # Saved before it was validated (e.g. edited in the database): never silently skipped.
            yield _finding(rule, Severity.BLOCK, {"unusable": True})


def _apply(rule: OrganisationRule, ctx: PreflightContext, texts: "_Texts") -> Iterator[Finding]:
    if rule.target == Target.RECIPIENT_DOMAINS:
        yield from _match_domains(rule, ctx)
        return
    matcher = compile_rule(rule.match, rule.expression)
    if rule.target in MESSAGE_TARGETS:
        found = matcher.find(texts.message(rule.target))
        if found is not None:
            yield _match_finding(rule, found)
        return
    named = texts.attachment_names() if rule.target == Target.ATTACHMENT_NAMES else texts.attachment_texts()
    hits = [(name, found) for name, text in named if (found := matcher.find(text)) is not None]
    if hits:
        yield _match_finding(rule, hits[0][1], files=tuple(name for name, _found in hits))


def _match_domains(rule: OrganisationRule, ctx: PreflightContext) -> Iterator[Finding]:
    matches = domain_matcher(rule.match, rule.expression)
    rows_by_domain: dict[str, list[int]] = defaultdict(list)
    for row in ctx.rows:
        rows_by_domain[domain_of(row.email)].append(row.row_number)
    hit = sorted(domain for domain in rows_by_domain if matches(domain))
    if hit:
        rows = sorted(row for domain in hit for row in rows_by_domain[domain])
        yield _match_finding(rule, ", ".join(hit[:5]), rows=tuple(rows))


class _Texts:
    """Each text normalised once, attachments read and extracted only if a rule needs them."""

    def __init__(self, ctx: PreflightContext):
        self.ctx = ctx
        self._messages: dict[str, Prepared] = {}
        self._attachments: list[tuple[str, Prepared]] | None = None

    def message(self, target: str) -> Prepared:
        if target not in self._messages:
            self._messages[target] = prepare(getattr(self.ctx.campaign, MESSAGE_TARGETS[target]))
        return self._messages[target]

    def attachment_names(self) -> list[tuple[str, Prepared]]:
        return [(a.filename, prepare(a.filename)) for a in self.ctx.attachments]

    def attachment_texts(self) -> list[tuple[str, Prepared]]:
        if self._attachments is None:
            self._attachments = [(a.filename, prepare(text)) for a in self.ctx.attachments
                                 if (text := _extracted_text(a)) is not None]
        return self._attachments


def _extracted_text(attachment) -> str | None:
    """The text the attachment guard sees; None when it cannot be read (that guard reports it).

    ``attachment`` is the context's ``AttachmentFile``: its bytes were read once for every check.
    """
    if attachment.data is None:
        return None
    try:
        return inspect_attachment(attachment.filename, attachment.data,
                                  max_bytes=settings.MAILGUARD["MAX_ATTACHMENT_BYTES"]).text
    except (ValueError, AttachmentRefused):
        return None


# --- Findings: the rule's words and what was found, put in sentences by guards.texts ----------


def _match_finding(rule: OrganisationRule, found: str, rows: tuple[int, ...] = (),
                   files: tuple[str, ...] = ()) -> Finding:
    return _finding(rule, SEVERITY[rule.action], {"found": found, "target": rule.target, "message": rule.message},
                    rows=rows, files=files)


def _finding(rule: OrganisationRule, severity: Severity, params: dict, rows: tuple[int, ...] = (),
             files: tuple[str, ...] = ()) -> Finding:
    # The rule's id in the code keeps two rules' findings apart (each is acknowledged on its own);
    # the action in the code lets the approval policy see "second approver" in the stored findings.
    return Finding(f"org_rule.{rule.action}.{rule.pk}", severity, {"rule": rule.name, "name": rule.name, **params},
                   rows=rows, files=files)
