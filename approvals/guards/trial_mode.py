"""Trial mode: a new drafter's campaign may only go inside the organisation (see approvals.trial_mode)."""

from collections.abc import Iterator

from .. import trial_mode
from .context import PreflightContext
from .findings import Finding, Severity


def trial_drafters_send_only_inside(ctx: PreflightContext) -> Iterator[Finding]:
    if not ctx.in_trial_mode:
        return
    outside = trial_mode.rows_outside(ctx.rows, ctx.internal_domains)
    if outside:
        yield _outside_finding(outside, ctx.internal_domains)


def _outside_finding(rows: list[int], internal_domains: set[str]) -> Finding:
    return Finding("trial.outside_organisation", Severity.BLOCK, {"domains": sorted(internal_domains)},
                   rows=tuple(rows))
