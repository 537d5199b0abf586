"""Notification pages: each person's settings (language, what to receive) and the system-mail ledger."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from ..models import SystemMail
from ..notifications.kinds import LABELS, MANDATORY, kinds_for_roles
from ..profiles import profile_of
from ..roles import Role, has_role, roles_of


class NotificationSettingsForm(forms.Form):
    language = forms.ChoiceField(label=gettext_lazy("Language of mail to you"))
    receive = forms.MultipleChoiceField(label=gettext_lazy("Notifications you receive"), required=False,
                                        widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, kinds, languages, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = languages
        self.fields["receive"].choices = [(kind.value, LABELS[kind]) for kind in kinds]


@login_required
def notification_settings(request):
    profile = profile_of(request.user)
    kinds = kinds_for_roles(roles_of(request.user))
    optional = [kind for kind in kinds if kind not in MANDATORY]
    receiving = [kind.value for kind in kinds if kind.value not in profile.muted_notifications]
    form = NotificationSettingsForm(request.POST or None, kinds=optional, languages=settings.LANGUAGES,
                                    initial={"language": profile.language, "receive": receiving})
    if request.method == "POST" and form.is_valid():
        chosen = set(form.cleaned_data["receive"])
        profile.language = form.cleaned_data["language"]
        profile.muted_notifications = sorted(kind.value for kind in optional if kind.value not in chosen)
        profile.save(update_fields=["language", "muted_notifications", "updated_at"])
        messages.success(request, _("Saved."))
        return redirect("notification_settings")
    return render(request, "approvals/notifications/settings.html", {
        "form": form,
        "mandatory": [(kind, LABELS[kind]) for kind in kinds if kind in MANDATORY],
        "has_address": bool(request.user.email),
        "recent": SystemMail.objects.filter(user=request.user)[:20],
    })


def _may_see_all_system_mail(user) -> bool:
    return user.is_superuser or has_role(user, Role.AUDITOR)


@require_safe
@login_required
def audit_system_mail(request):
    """Every system mail, failures first when asked: nothing that failed goes unseen."""
    if not _may_see_all_system_mail(request.user):
        raise PermissionDenied
    status = request.GET.get("status", "")
    rows = SystemMail.objects.select_related("user", "campaign")
    if status in SystemMail.Status.values:
        rows = rows.filter(status=status)
    return render(request, "approvals/notifications/system_mail.html", {
        "page": Paginator(rows, 50).get_page(request.GET.get("page")),
        "status": status,
        "statuses": SystemMail.Status.choices,
        "failed_count": SystemMail.objects.filter(status=SystemMail.Status.FAILED).count(),
    })
