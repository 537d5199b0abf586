"""Does the sender's domain authenticate (SPF, DKIM, DMARC)? Mail that fails is binned or refused.

The records come from ``approvals.sender_auth`` through the preflight context
(cached per domain, so a page view does not ask DNS). A DMARC ``p=reject``
domain that the configured transport cannot align blocks: every receiver that
honours DMARC would refuse every message. Missing or failing records and
failing alignment otherwise must be acknowledged; DNS that did not answer is a
note ("not checked"), never a reason to stop.
"""

from collections.abc import Iterator

from django.utils.translation import gettext as _

from ..sender_auth import Assessment
from .context import PreflightContext
from .findings import Finding, Severity


def sender_domain_authenticates(ctx: PreflightContext) -> Iterator[Finding]:
    result = ctx.sender_auth
    if result is None:
        return
    if not result.answered:
        yield _finding("sender.auth_not_checked", Severity.INFO, _(
            "The SPF, DKIM and DMARC records of %(domain)s were not checked: DNS did not answer. "
            "MailGuard will try again later.") % {"domain": result.domain})
    elif result.refused_by_policy:
        yield _finding("sender.dmarc_reject_unaligned", Severity.BLOCK, _(
            "%(domain)s publishes DMARC p=reject, and the configured transport can align neither DKIM nor SPF "
            "with it: receivers will refuse every message. Ask your administrator to set up DKIM signing for "
            "%(domain)s with the mail service, or choose another sender. (%(problems)s)")
            % {"domain": result.domain, "problems": _joined(result)})
    elif result.problems():
        yield _finding("sender.authentication", Severity.ACKNOWLEDGE, _(
            "The sender domain %(domain)s does not fully authenticate: %(problems)s. Mail providers may put "
            "these messages in spam or refuse them.") % {"domain": result.domain, "problems": _joined(result)})


def _joined(result: Assessment) -> str:
    return "; ".join(result.problems())


def _finding(code: str, severity: Severity, message: str) -> Finding:
    """Every finding of this module is built here."""
    return Finding(code, severity, message)
