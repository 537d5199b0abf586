"""Template helpers for issue 12's pages: the approval rule stored with a review, in the reader's language."""

from django import template

from .. import approval_policy

register = template.Library()


@register.filter
def approval_rule(policy: dict) -> list[str]:
    """The reasons a review's version needed more than one approval (empty when one was enough)."""
    if not policy or policy.get("required", 1) < 2:
        return []
    return approval_policy.describe(policy)
