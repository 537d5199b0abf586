"""Shared view helpers: role checks, turning workflow errors into messages, file downloads."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse
from django.shortcuts import redirect

from ..roles import Role, has_role
from ..workflow import NotAllowed, SubmissionBlocked, WorkflowError


def role_required(*roles: Role):
    """The user must hold one of ``roles``; otherwise 403 (checked on every request)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(request, *args, **kwargs):
            if not any(has_role(request.user, role) for role in roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def perform(request, action, *args, success: str = "", **kwargs) -> bool:
    """Run a workflow action; a refusal becomes a message for the user, a role failure a 403."""
    try:
        action(*args, **kwargs)
    except NotAllowed:
        raise
    except SubmissionBlocked as blocked:
        messages.error(request, str(blocked))
        for finding in blocked.findings:
            messages.error(request, finding.message)
        return False
    except WorkflowError as err:
        messages.error(request, str(err))
        return False
    if success:
        messages.success(request, success)
    return True


def back_to(campaign, view_name: str = "campaign_detail"):
    return redirect(view_name, pk=campaign.pk)


def private_file_response(django_file, filename: str, content_type: str) -> FileResponse:
    """Stream a stored file to an authorised user: a download, never rendered, sniffed or cached."""
    response = FileResponse(
        django_file.open("rb"), as_attachment=True, filename=filename, content_type=content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


def home(request):
    if not request.user.is_authenticated:
        return redirect("login")
    user = request.user
    if has_role(user, Role.REVIEWER):
        return redirect("review_queue")
    if has_role(user, Role.DRAFTER):
        return redirect("campaign_list")
    if has_role(user, Role.AUDITOR):
        return redirect("audit_campaigns")
    if user.is_superuser:
        return redirect("admin:index")
    raise PermissionDenied


__all__ = ["role_required", "perform", "back_to", "private_file_response", "home", "NotAllowed"]
