"""Roles are Django groups; these helpers are the only place their names appear."""

from enum import StrEnum


class Role(StrEnum):
    DRAFTER = "Drafter"
    REVIEWER = "Reviewer"
    AUDITOR = "Auditor"


def has_role(user, role: Role) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    cache = getattr(user, "_mailguard_roles", None)
    if cache is None:
        cache = set(user.groups.values_list("name", flat=True))
        user._mailguard_roles = cache
    return role.value in cache


def roles_of(user) -> list[Role]:
    return [role for role in Role if has_role(user, role)]
