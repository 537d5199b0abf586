from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = _("Approvals")

    def ready(self):
        # Connect the ESP tracking webhook receiver, the deployment checks and the audit
        # events of account and settings changes.
        from . import account_audit, checks  # noqa: F401
        from .delivery import tracking  # noqa: F401

        account_audit.connect()
