from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = _("Approvals")

    def ready(self):
        # Connect the ESP tracking webhook receiver; register the deployment checks.
        from . import checks  # noqa: F401
        from .delivery import tracking  # noqa: F401
