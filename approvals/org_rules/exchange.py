"""Organisation rules as YAML, so one office can hand its lessons to another.

    format: mailguard-organisation-rules
    version: 1
    rules:
      - name: 社外秘の資料
        target: attachment_text      # subject, body_text, body_html, attachment_names,
                                     # attachment_text, recipient_domains
        match: keyword               # or pattern (RE2)
        expression: 社外秘
        action: block                # info, acknowledge, block, second_approver
        message: 社外秘の資料は社外に送れません。
        enabled: true                # optional, true by default

Import reads with ``yaml.safe_load`` (no Python objects), checks every entry —
known keys, known values, lengths, patterns RE2 can compile — and changes
nothing unless the whole file is valid; each problem is reported with the
entry's number and name. A rule whose name already exists is updated.
"""

from dataclasses import dataclass

import yaml
from django.db import transaction
from django.utils.translation import gettext as _

from .. import audit
from ..models import OrganisationRule
from . import RuleError, compile_rule

FORMAT = "mailguard-organisation-rules"
VERSION = 1
MAX_BYTES = 1024 * 1024
REQUIRED = ("name", "target", "expression", "action", "message")
OPTIONAL = ("match", "enabled")
TEXT_LIMITS = {"name": 200, "expression": 1000, "message": 5000}


class RulesImportError(ValueError):
    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class ImportResult:
    created: list[str]
    updated: list[str]


def export_rules(rules) -> str:
    entries = [{"name": r.name, "target": r.target, "match": r.match, "expression": r.expression,
                "action": r.action, "message": r.message, "enabled": r.enabled} for r in rules]
    document = {"format": FORMAT, "version": VERSION, "rules": entries}
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=1000)


def import_rules(data: bytes | str, actor=None) -> ImportResult:
    """Create or update the rules in ``data``; all of them or, with RulesImportError, none."""
    entries = _validated_entries(_load(data))
    created, updated = [], []
    with transaction.atomic():
        for entry in entries:
            _rule, was_created = OrganisationRule.objects.update_or_create(name=entry["name"], defaults=entry)
            (created if was_created else updated).append(entry["name"])
        audit.record("organisation_rules_imported", actor=actor, created=created, updated=updated)
    return ImportResult(created, updated)


def _load(data: bytes | str):
    if isinstance(data, bytes):
        if len(data) > MAX_BYTES:
            raise RulesImportError([_("The file is larger than 1 MB; rules files are small text files.")])
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise RulesImportError([_("The file is not UTF-8 text.")]) from err
    try:
        document = yaml.safe_load(data)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = _(" (line %(line)d, column %(column)d)") % {
            "line": mark.line + 1, "column": mark.column + 1} if mark else ""
        raise RulesImportError([_("The file is not valid YAML%(where)s.") % {"where": where}]) from err
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        raise RulesImportError([_("The file must be a YAML mapping with a list under “rules”.")])
    if document.get("format", FORMAT) != FORMAT or document.get("version", VERSION) != VERSION:
        raise RulesImportError([_("This is not a MailGuard rules file of version %(version)d.") % {
            "version": VERSION}])
    return document["rules"]


def _validated_entries(raw: list) -> list[dict]:
    errors: list[str] = []
    entries: list[dict] = []
    seen: set[str] = set()
    for number, item in enumerate(raw, start=1):
        entry, problems = _validated(item)
        name = entry.get("name") if isinstance(entry.get("name"), str) else "?"
        if name in seen:
            problems.append(_("the name is used twice in the file"))
        if name != "?":
            seen.add(name)
        errors += [_("Rule %(number)d (“%(name)s”): %(problem)s") % {"number": number, "name": name, "problem": p}
                   for p in problems]
        entries.append(entry)
    if errors:
        raise RulesImportError(errors)
    return entries


def _validated(item) -> tuple[dict, list[str]]:
    if not isinstance(item, dict):
        return {}, [_("each rule must be a mapping of keys to values")]
    problems = []
    unknown = sorted(str(key) for key in item if key not in REQUIRED + OPTIONAL)
    if unknown:
        problems.append(_("unknown keys: %(keys)s") % {"keys": ", ".join(unknown)})
    entry = {"match": OrganisationRule.Match.KEYWORD, "enabled": True}
    for key in REQUIRED + OPTIONAL:
        if key in item:
            entry[key] = item[key]
        elif key in REQUIRED:
            problems.append(_("“%(key)s” is missing") % {"key": key})
    problems += _value_problems(entry)
    return entry, problems


def _value_problems(entry: dict) -> list[str]:
    problems = []
    for key, limit in TEXT_LIMITS.items():
        value = entry.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            problems.append(_("“%(key)s” must be text") % {"key": key})
        elif value is not None and len(value) > limit:
            problems.append(_("“%(key)s” is longer than %(limit)d characters") % {"key": key, "limit": limit})
    if not isinstance(entry.get("enabled"), bool):
        problems.append(_("“enabled” must be true or false"))
    for key, model_choices in (("target", OrganisationRule.Target), ("match", OrganisationRule.Match),
                               ("action", OrganisationRule.Action)):
        if key in entry and entry[key] not in model_choices.values:
            problems.append(_("“%(key)s” must be one of %(choices)s") % {
                "key": key, "choices": ", ".join(model_choices.values)})
    if not problems:
        try:
            compile_rule(entry["match"], entry["expression"])
        except RuleError as err:
            problems.append(str(err))
    return problems
