"""Does the sender's domain authenticate (SPF, DKIM, DMARC)? Mail that fails is binned or refused.

The records come from ``approvals.sender_auth`` through the preflight context
(cached per domain, so a page view does not ask DNS). A DMARC ``p=reject``
domain that the configured transport cannot align blocks: every receiver that
honours DMARC would refuse every message. Missing or failing records and
failing alignment otherwise must be acknowledged; DNS that did not answer is a
note ("not checked"), never a reason to stop.
"""

from collections.abc import Iterator

from ..sender_auth import Assessment
from .context import PreflightContext
from .findings import Finding, Severity


def sender_domain_authenticates(ctx: PreflightContext) -> Iterator[Finding]:
    result = ctx.sender_auth
    if result is None:
        return
    if not result.answered:
        yield _finding("sender.auth_not_checked", Severity.INFO, result)
    elif result.refused_by_policy:
        yield _finding("sender.dmarc_reject_unaligned", Severity.BLOCK, result)
    elif result.problems():
        yield _finding("sender.authentication", Severity.ACKNOWLEDGE, result)


def _finding(code: str, severity: Severity, result: Assessment) -> Finding:
    """Every finding of this module is built here.

    The problems are DNS facts put in words when the check ran (``Assessment.problems``), so
    they stay in the language of the person whose page ran it; the sentence around them
    follows the reader's language.
    """
    return Finding(code, severity, {"domain": result.domain, "problems": result.problems()})
