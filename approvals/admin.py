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
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import audit, trial_mode
from .models import (
    ApprovalPolicy,
    AuditEvent,
    Campaign,
    Delivery,
    InternalDomain,
    OrganisationRule,
    SenderIdentity,
    SystemMail,
    UserProfile,
)
from .org_rules.exchange import RulesImportError, export_rules, import_rules


@admin.register(SenderIdentity)
class SenderIdentityAdmin(admin.ModelAdmin):
    list_display = ["display_name", "email", "active"]
    list_filter = ["active"]


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
