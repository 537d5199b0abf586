"""Template context: which roles the current user holds (for navigation only;
every action is still checked on the server by approvals.workflow)."""

from .roles import Role, has_role


def roles(request):
    user = request.user
    return {
        "is_drafter": has_role(user, Role.DRAFTER),
        "is_reviewer": has_role(user, Role.REVIEWER),
        "is_auditor": has_role(user, Role.AUDITOR),
    }
