"""Django admin: users and roles (built in), sender identities, internal domains, the approval
policy, organisation rules (with YAML export and import), user profiles (trial mode) and system mail.

Campaigns, deliveries, audit events and system mail are shown read-only: their state changes
only through approvals.workflow (and the notification tasks), never by editing a row here.
Changes to the policy, the rules and trial mode are audited.
"""

from functools import partial

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import audit, sender_auth, trial_mode
from .domains import domain_of
from .models import (
    ApprovalPolicy,
    AuditEvent,
    Campaign,
    Delivery,
    InternalDomain,
    OrganisationRule,
    SenderIdentity,
    Suppression,
    SystemMail,
    UserProfile,
)
from .org_rules.exchange import RulesImportError, export_rules, import_rules


@admin.register(SenderIdentity)
class SenderIdentityAdmin(admin.ModelAdmin):
    """Approved senders, with what DNS last said about their domain (SPF, DKIM, DMARC)."""

    list_display = ["display_name", "email", "active", "spf", "dkim", "dmarc", "auth_checked_at"]
    list_filter = ["active"]
    readonly_fields = ["authentication"]
    actions = ["check_now"]

    def _result(self, identity: SenderIdentity) -> sender_auth.Assessment | None:
        # The stored result only: listing senders must not wait on DNS ("check now" asks it).
        return sender_auth.cached_assessment(domain_of(identity.email)) if identity.email else None

    def _status(self, identity: SenderIdentity, part: str) -> str:
        result = self._result(identity)
        if result is None:
            return _("not checked yet")
        found = getattr(result, part)
        return format_html('<span title="{}">{}</span>', found.note, STATUS_LABELS[found.status])

    @admin.display(description="SPF")
    def spf(self, identity):
        return self._status(identity, "spf")

    @admin.display(description="DKIM")
    def dkim(self, identity):
        return self._status(identity, "dkim")

    @admin.display(description="DMARC")
    def dmarc(self, identity):
        return self._status(identity, "dmarc")

    @admin.display(description=gettext_lazy("checked at"))
    def auth_checked_at(self, identity):
        result = self._result(identity)
        return result.checked_at if result else "—"

    @admin.display(description=gettext_lazy("sender authentication"))
    def authentication(self, identity):
        result = self._result(identity)
        if result is None:
            return _("Not checked yet: use “Check SPF, DKIM and DMARC now” in the list of senders.")
        rows = [("SPF", result.spf), ("DKIM", result.dkim), ("DMARC", result.dmarc)]
        table = format_html_join("", "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
                                 ((name, STATUS_LABELS[p.status], p.note) for name, p in rows))
        verdict = _verdict(result)
        return format_html('<table id="sender-authentication">{}</table><p>{}</p>', table, verdict)

    @admin.action(description=gettext_lazy("Check SPF, DKIM and DMARC now"))
    def check_now(self, request, queryset):
        for domain in sorted({domain_of(identity.email) for identity in queryset}):
            result = sender_auth.check_now(domain)
            level = messages.SUCCESS if result.answered and not result.problems() else messages.WARNING
            self.message_user(request, _("Sender domain %(domain)s: %(verdict)s") % {
                "domain": domain, "verdict": _verdict(result)}, level)


STATUS_LABELS = {
    sender_auth.Status.PASS: gettext_lazy("pass"),
    sender_auth.Status.FAIL: gettext_lazy("fail"),
    sender_auth.Status.MISSING: gettext_lazy("no record"),
    sender_auth.Status.NOT_CHECKED: gettext_lazy("not checked"),
    sender_auth.Status.NOT_CONFIGURED: gettext_lazy("not configured"),
}


def _verdict(result: sender_auth.Assessment) -> str:
    if not result.answered:
        return _("not checked: DNS did not answer")
    if result.refused_by_policy:
        return _("receivers will refuse these messages (DMARC p=reject, nothing aligned): %(problems)s") % {
            "problems": "; ".join(result.problems())}
    if result.problems():
        return _("problems: %(problems)s") % {"problems": "; ".join(result.problems())}
    if result.aligned is None:
        return _("records in order; alignment with the transport is not configured")
    return _("authenticated and aligned")


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    """Addresses never to mail; add one here for an unsubscribe request that arrived by mail."""

    list_display = ["email", "reason", "created_at"]
    list_filter = ["reason"]
    search_fields = ["email"]


@admin.register(InternalDomain)
class InternalDomainAdmin(admin.ModelAdmin):
    list_display = ["domain"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    list_display = ["name", "state", "drafter", "approved_by", "created_at"]
    list_filter = ["state"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["email", "campaign", "status", "attempts", "sent_at"]
    list_filter = ["status"]
    search_fields = ["email"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_name", "action", "campaign"]
    list_filter = ["action"]


# --- Issue 12: approval policy, organisation rules, profiles, system mail ------------------------


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(admin.ModelAdmin):
    """One policy for the organisation: add it once, then change it."""

    filter_horizontal = ["sender_identities"]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not ApprovalPolicy.objects.exists()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        policy = form.instance
        audit.record("approval_policy_changed", actor=request.user, recipients_above=policy.recipients_above,
                     external_domains_above=policy.external_domains_above, any_attachment=policy.any_attachment,
                     finding_codes=policy.codes, senders=sorted(s.email for s in policy.sender_identities.all()))

    def delete_model(self, request, obj):
        audit.record("approval_policy_removed", actor=request.user)
        super().delete_model(request, obj)


class RulesImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Rules file (YAML)"))


@admin.register(OrganisationRule)
class OrganisationRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "enabled", "target", "match", "expression", "action"]
    list_filter = ["enabled", "target", "action"]
    search_fields = ["name", "expression", "message"]
    actions = ["export_yaml"]
    change_list_template = "admin/approvals/organisationrule/change_list.html"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit.record("organisation_rule_saved", actor=request.user, rule=obj.name, enabled=obj.enabled,
                     target=obj.target, match=obj.match, expression=obj.expression, rule_action=obj.action)

    def delete_model(self, request, obj):
        audit.record("organisation_rule_deleted", actor=request.user, rule=obj.name)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        audit.record("organisation_rule_deleted", actor=request.user, rules=sorted(r.name for r in queryset))
        super().delete_queryset(request, queryset)

    @admin.action(description=gettext_lazy("Export the selected rules as YAML"))
    def export_yaml(self, request, queryset):
        response = HttpResponse(export_rules(queryset), content_type="application/yaml; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="mailguard-rules.yaml"'
        return response

    def get_urls(self):
        extra = [path("import/", self.admin_site.admin_view(self.import_view), name="approvals_rules_import")]
        return extra + super().get_urls()

    def import_view(self, request):
        if not self.has_add_permission(request) or not self.has_change_permission(request):
            return redirect("admin:approvals_organisationrule_changelist")
        form = RulesImportForm(request.POST or None, request.FILES or None)
        errors: list[str] = []
        if request.method == "POST" and form.is_valid():
            try:
                result = import_rules(form.cleaned_data["file"].read(), actor=request.user)
            except RulesImportError as err:
                errors = err.errors
            else:
                self.message_user(request, _("Imported: %(created)d new rules, %(updated)d updated.") % {
                    "created": len(result.created), "updated": len(result.updated)}, messages.SUCCESS)
                return redirect("admin:approvals_organisationrule_changelist")
        return render(request, "admin/approvals/organisationrule/import.html", {
            **self.admin_site.each_context(request), "form": form, "errors": errors,
            "opts": self.model._meta, "title": _("Import organisation rules"),
        })


@admin.register(UserProfile)
class UserProfileAdmin(admin.ModelAdmin):
    """Trial mode is lifted (or set again) here; every change is audited."""

    list_display = ["user", "trial_mode", "language"]
    list_filter = ["trial_mode", "language"]
    search_fields = ["user__username", "user__email"]
    fields = ["user", "trial_mode", "language"]
    readonly_fields = ["user"]
    actions = ["lift_trial_mode"]

    def has_add_permission(self, request):
        return False  # every account gets its profile when it is created

    def save_model(self, request, obj, form, change):
        if "trial_mode" in form.changed_data:
            trial_mode.set_trial_mode(obj.user, obj.trial_mode, actor=request.user)
        obj.save()

    @admin.action(description=gettext_lazy("Lift trial mode for the selected people"))
    def lift_trial_mode(self, request, queryset):
        lifted = sum(trial_mode.set_trial_mode(p.user, False, actor=request.user)
                     for p in queryset.select_related("user"))
        self.message_user(request, _("Trial mode lifted for %(count)d people.") % {"count": lifted})


@admin.register(SystemMail)
class SystemMailAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "to_address", "status", "attempts", "campaign"]
    list_filter = ["status", "kind"]
    search_fields = ["to_address", "subject"]
    actions = ["send_again"]

    @admin.action(description=gettext_lazy("Send the selected failed mail again"))
    def send_again(self, request, queryset):
        from .notifications.planning import enqueue

        ids = list(queryset.filter(status=SystemMail.Status.FAILED).values_list("pk", flat=True))
        SystemMail.objects.filter(pk__in=ids).update(status=SystemMail.Status.QUEUED, next_attempt_at=None)
        for mail_id in ids:
            transaction.on_commit(partial(enqueue, mail_id))
        self.message_user(request, _("%(count)d messages queued again.") % {"count": len(ids)})
