"""Django admin: users and roles (built in), sender identities, internal domains.

Campaigns, deliveries and audit events are shown read-only: their state changes
only through approvals.workflow, never by editing a row here.
"""

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import sender_auth
from .domains import domain_of
from .models import AuditEvent, Campaign, Delivery, InternalDomain, SenderIdentity, Suppression


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
