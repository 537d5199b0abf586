"""Django admin: users and roles (built in), sender identities, internal domains.

Campaigns, deliveries and audit events are shown read-only: their state changes
only through approvals.workflow, never by editing a row here.
"""

from django.contrib import admin

from .models import AuditEvent, Campaign, Delivery, InternalDomain, SenderIdentity


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
