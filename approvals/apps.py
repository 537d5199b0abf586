from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = _("Approvals")

    def ready(self):
        from django.core import checks as django_checks

        # Connect the ESP tracking webhook receiver, the deployment checks and the audit
        # events of account and settings changes; every new account gets a profile (language,
        # notifications, trial mode); the send-window settings are checked at start.
        from . import account_audit, checks, profiles, send_window  # noqa: F401
        from .delivery import tracking  # noqa: F401

        account_audit.connect()
        profiles.connect()
        django_checks.register(send_window.system_check)
