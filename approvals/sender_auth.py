"""Sender authentication: a sender domain's SPF, DKIM and DMARC records, read from DNS and judged.

Mail providers (Gmail, Yahoo since 2024) bin or refuse bulk mail whose From
domain does not authenticate. DMARC passes when SPF or DKIM passes *aligned*
with the From domain. Whether the configured transport (the ESP) can align is
not visible in DNS, so the settings declare it:

* ``DKIM_SIGNING_DOMAINS`` and ``DKIM_SELECTORS``: the transport signs with
  ``d=`` one of these domains under one of these selectors. A sender domain is
  DKIM-aligned when one of them aligns with it (the same organisational domain;
  the very same domain under ``adkim=s``) and publishes a key there.
* ``SPF_INCLUDES``: the transport sends with an envelope sender (Return-Path)
  in the sender's own domain, from the servers these ``include:`` names cover.
  SPF is aligned when the domain's one SPF record includes one of them.

With neither set, alignment is "not configured" (``aligned is None``): records
are still checked, nothing is blocked on alignment.

Lookups (dnspython, through ``DNS_NAMESERVERS`` or the system resolver, each
bounded by ``DNS_TIMEOUT_SECONDS``): TXT of the domain (SPF), TXT of
``_dmarc.<domain>`` and, when absent, of ``_dmarc.<organisational domain>``
(the Public Suffix List, via publicsuffixlist), TXT of
``<selector>._domainkey.<signing domain>``. The records are kept per domain in
``SenderDomainCheck`` with the time, and judged when read against the current
settings. DNS that does not answer (offline, timeout, refused) gives "not
checked", never an exception.
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache

import dns.exception
import dns.nameserver
import dns.resolver
from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from publicsuffixlist import PublicSuffixList

from .domains import domain_of
from .models import SenderDomainCheck, SenderIdentity

log = logging.getLogger(__name__)


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    MISSING = "missing"
    NOT_CHECKED = "not_checked"  # DNS did not answer
    NOT_CONFIGURED = "not_configured"  # the transport's side is not declared in the settings


PROBLEMS = (Status.FAIL, Status.MISSING)


class DnsUnavailable(Exception):
    """DNS gave no usable answer: nothing can be judged."""


@dataclass(frozen=True)
class Part:
    status: Status
    note: str  # translated: what was found, for the administrator and the reviewer


@dataclass(frozen=True)
class Assessment:
    domain: str
    checked_at: datetime | None
    spf: Part
    dkim: Part
    dmarc: Part
    policy: str  # the DMARC policy that applies to the domain: none, quarantine, reject or ""
    aligned: bool | None  # None: not checked, or the transport's alignment is not configured

    @property
    def answered(self) -> bool:
        return self.spf.status != Status.NOT_CHECKED

    def problems(self) -> list[str]:
        """What a reviewer should know, one sentence each."""
        found = [part.note for part in (self.spf, self.dkim, self.dmarc) if part.status in PROBLEMS]
        if self.aligned is False:
            found.append(_("the transport can align neither DKIM nor SPF with %(domain)s, so DMARC cannot pass")
                         % {"domain": self.domain})
        return found

    @property
    def refused_by_policy(self) -> bool:
        """DMARC p=reject and nothing aligns: receivers refuse every message."""
        return self.aligned is False and self.policy == "reject"


# --- Reading the cached result, looking up when it is stale -----------------------------------


def assessment_for_sender(sender: SenderIdentity | None) -> Assessment | None:
    """For the preflight: the sender domain's result, looked up only when the stored one is stale.

    None when checks are switched off or there is no sender.
    """
    if sender is None or not settings.MAILGUARD["SENDER_AUTH_CHECK"]:
        return None
    domain = domain_of(sender.email)
    return assess(_fresh_check(domain)) if domain else None


def stored_state(sender: SenderIdentity | None) -> list | None:
    """What the preflight's result depends on, without asking DNS: the stored check and whether it is stale."""
    if sender is None or not settings.MAILGUARD["SENDER_AUTH_CHECK"]:
        return None
    domain = domain_of(sender.email)
    check = SenderDomainCheck.objects.filter(domain=domain).first() if domain else None
    return [domain, check.checked_at.isoformat(), _is_stale(check)] if check else [domain]


def cached_assessment(domain: str) -> Assessment | None:
    """What was found last time, without asking DNS (admin lists); None when never checked."""
    check = SenderDomainCheck.objects.filter(domain=domain.lower()).first()
    return assess(check) if check else None


def check_now(domain: str) -> Assessment:
    """Ask DNS now, store and judge (the admin's "check now")."""
    return assess(_look_up_and_store(domain.lower()))


def _fresh_check(domain: str) -> SenderDomainCheck:
    check = SenderDomainCheck.objects.filter(domain=domain).first()
    if check is None or _is_stale(check):
        check = _look_up_and_store(domain)
    return check


def _is_stale(check: SenderDomainCheck) -> bool:
    limits = settings.MAILGUARD
    max_age = limits["SENDER_AUTH_MAX_AGE_SECONDS"] if check.answered else limits["SENDER_AUTH_RETRY_SECONDS"]
    return check.lookups != _lookups_key() or timezone.now() - check.checked_at >= timedelta(seconds=max_age)


def _lookups_key() -> str:
    """Which DKIM names a result covers: a change of selectors or signing domains needs a new lookup."""
    limits = settings.MAILGUARD
    spec = json.dumps([sorted(limits["DKIM_SELECTORS"]), sorted(limits["DKIM_SIGNING_DOMAINS"])])
    return hashlib.sha256(spec.encode()).hexdigest()[:16]


def _look_up_and_store(domain: str) -> SenderDomainCheck:
    try:
        records, answered = look_up(domain), True
    except DnsUnavailable as err:
        log.warning("DNS did not answer for %s: %s", domain, err)
        records, answered = {}, False
    values = {"checked_at": timezone.now(), "answered": answered, "lookups": _lookups_key(), "records": records}
    try:
        check, _created = SenderDomainCheck.objects.update_or_create(domain=domain, defaults=values)
    except IntegrityError:  # another request stored the same domain a moment ago
        SenderDomainCheck.objects.filter(domain=domain).update(**values)
        check = SenderDomainCheck.objects.get(domain=domain)
    return check


# --- DNS ----------------------------------------------------------------------------------------


def _resolver() -> dns.resolver.Resolver:
    limits = settings.MAILGUARD
    try:
        if limits["DNS_NAMESERVERS"]:
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = [dns.nameserver.Do53Nameserver(*_host_port(s)) for s in limits["DNS_NAMESERVERS"]]
        else:
            resolver = dns.resolver.Resolver()
    except (dns.exception.DNSException, ValueError, OSError) as err:
        raise DnsUnavailable(f"no resolver: {err}") from err
    resolver.timeout = resolver.lifetime = limits["DNS_TIMEOUT_SECONDS"]
    resolver.cache = None
    return resolver


def _host_port(server: str) -> tuple[str, int]:
    """"192.0.2.1", "192.0.2.1:5353", "[2001:db8::1]:5353" or "2001:db8::1"."""
    if server.startswith("["):
        host, _bracket, port = server[1:].partition("]")
        return host, int(port.lstrip(":") or 53)
    if server.count(":") == 1:
        host, port = server.split(":")
        return host, int(port)
    return server, 53


def _txt(resolver: dns.resolver.Resolver, name: str) -> list[str]:
    """The TXT strings at name ([] when the name or the type does not exist); raises DnsUnavailable."""
    try:
        answer = resolver.resolve(name.rstrip(".") + ".", "TXT", search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.DNSException as err:  # timeout, no nameserver answered, refused…
        raise DnsUnavailable(f"{name}: {err.__class__.__name__}") from err
    return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in answer]


@cache
def _public_suffixes() -> PublicSuffixList:
    return PublicSuffixList()


def organisational_domain(domain: str) -> str:
    """example.jp for news.example.jp (the registrable domain of the Public Suffix List)."""
    return _public_suffixes().privatesuffix(domain.lower()) or domain.lower()


def look_up(domain: str) -> dict:
    """The records that decide SPF, DKIM and DMARC for domain. Raises DnsUnavailable."""
    resolver = _resolver()
    spf = [r for r in _txt(resolver, domain) if r.lower().startswith("v=spf1")]
    dmarc_name = f"_dmarc.{domain}"
    dmarc = _dmarc_records(_txt(resolver, dmarc_name))
    org = organisational_domain(domain)
    if not dmarc and org != domain:
        dmarc_name = f"_dmarc.{org}"
        dmarc = _dmarc_records(_txt(resolver, dmarc_name))
    dkim = {
        signer: {selector: _txt(resolver, f"{selector}._domainkey.{signer}")
                 for selector in settings.MAILGUARD["DKIM_SELECTORS"]}
        for signer in _signers_for(domain)
    }
    return {"spf": spf, "dmarc": {"name": dmarc_name, "records": dmarc, "inherited": dmarc_name != f"_dmarc.{domain}"},
            "dkim": dkim}


def _dmarc_records(texts: list[str]) -> list[str]:
    return [t for t in texts if t.replace(" ", "").lower().startswith("v=dmarc1")]


def _signers_for(domain: str) -> list[str]:
    """The configured signing domains that can align with domain (relaxed: same organisational domain)."""
    org = organisational_domain(domain)
    return [s for s in settings.MAILGUARD["DKIM_SIGNING_DOMAINS"] if organisational_domain(s) == org]


# --- Judging the records --------------------------------------------------------------------------


def assess(check: SenderDomainCheck) -> Assessment:
    if not check.answered:
        part = Part(Status.NOT_CHECKED, _("not checked: DNS did not answer"))
        return Assessment(check.domain, check.checked_at, part, part, part, "", None)
    records = check.records
    dmarc, policy, tags = _judge_dmarc(check.domain, records.get("dmarc") or {})
    spf, spf_aligned = _judge_spf(records.get("spf") or [])
    dkim, dkim_aligned = _judge_dkim(check.domain, records.get("dkim") or {}, strict=tags.get("adkim") == "s")
    limits = settings.MAILGUARD
    configured = bool(limits["SPF_INCLUDES"] or (limits["DKIM_SIGNING_DOMAINS"] and limits["DKIM_SELECTORS"]))
    aligned = (spf_aligned or dkim_aligned) if configured else None
    return Assessment(check.domain, check.checked_at, spf, dkim, dmarc, policy, aligned)


def _judge_spf(records: list[str]) -> tuple[Part, bool]:
    if not records:
        return Part(Status.MISSING, _("no SPF record")), False
    if len(records) > 1:
        return Part(Status.FAIL, _("%(count)d SPF records, which receivers treat as an error") % {
            "count": len(records)}), False
    terms = records[0].lower().split()
    if "+all" in terms or "all" in terms:
        return Part(Status.FAIL, _("the SPF record allows every server in the world (+all)")), False
    named = {t.split(":", 1)[1] for t in terms if t.startswith("include:")}
    named |= {t.split("=", 1)[1] for t in terms if t.startswith("redirect=")}
    includes = settings.MAILGUARD["SPF_INCLUDES"]
    if not includes:
        return Part(Status.PASS, _("SPF record published (the transport's servers are not configured, so not "
                                   "compared)")), False
    covered = sorted(named & set(includes))
    if covered:
        return Part(Status.PASS, _("SPF includes the transport (%(names)s)") % {"names": ", ".join(covered)}), True
    return Part(Status.FAIL, _("the SPF record does not include the transport's servers (%(names)s)") % {
        "names": ", ".join(includes)}), False


def _judge_dkim(domain: str, keys_by_signer: dict, *, strict: bool) -> tuple[Part, bool]:
    limits = settings.MAILGUARD
    if not (limits["DKIM_SIGNING_DOMAINS"] and limits["DKIM_SELECTORS"]):
        return Part(Status.NOT_CONFIGURED, _("the transport's DKIM signing is not configured")), False
    signers = [s for s in keys_by_signer if s == domain or not strict]
    if not signers:
        return Part(Status.FAIL, _("the transport does not DKIM-sign for %(domain)s (it signs for %(signers)s)") % {
            "domain": domain, "signers": ", ".join(limits["DKIM_SIGNING_DOMAINS"])}), False
    revoked = []
    for signer in signers:
        for selector, texts in keys_by_signer[signer].items():
            keys = [_dkim_key(t) for t in texts]
            if any(keys):
                return Part(Status.PASS, _("DKIM key published at %(name)s") % {
                    "name": f"{selector}._domainkey.{signer}"}), True
            if texts:
                revoked.append(f"{selector}._domainkey.{signer}")
    if revoked:
        return Part(Status.FAIL, _("the DKIM key at %(names)s is empty (revoked)") % {
            "names": ", ".join(revoked)}), False
    names = [f"{selector}._domainkey.{signer}" for signer in signers for selector in keys_by_signer[signer]]
    return Part(Status.MISSING, ngettext("no DKIM key at %(names)s", "no DKIM key at any of %(names)s",
                                         len(names)) % {"names": ", ".join(names)}), False


def _dkim_key(text: str) -> str:
    tags = _tags(text)
    return tags.get("p", "")


def _judge_dmarc(domain: str, found: dict) -> tuple[Part, str, dict]:
    records = found.get("records") or []
    if not records:
        return Part(Status.MISSING, _("no DMARC record")), "", {}
    if len(records) > 1:
        return Part(Status.FAIL, _("%(count)d DMARC records, so receivers apply none") % {
            "count": len(records)}), "", {}
    tags = _tags(records[0])
    policy = tags.get("sp", tags.get("p")) if found.get("inherited") else tags.get("p")
    if policy not in ("none", "quarantine", "reject"):
        return Part(Status.FAIL, _("the DMARC record at %(name)s has no valid policy (p=)") % {
            "name": found.get("name", "")}), "", tags
    return Part(Status.PASS, _("DMARC policy p=%(policy)s (%(name)s)") % {
        "policy": policy, "name": found.get("name", "")}), policy, tags


def _tags(record: str) -> dict[str, str]:
    """"v=DMARC1; p=reject; adkim=s" -> {"v": "dmarc1", "p": "reject", "adkim": "s"}, spaces removed.

    Values are lower-cased: only the presence of a DKIM key (p=) matters here, not its bytes.
    """
    tags = {}
    for item in record.split(";"):
        name, sep, value = item.partition("=")
        if sep:
            tags[name.strip().lower()] = "".join(value.split()).lower()
    return tags
