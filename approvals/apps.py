from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = _("Approvals")

    def ready(self):
        from django.core import checks

        # Every new account gets a profile (language, notifications, trial mode);
        # the send-window settings are checked at start; importing tracking connects
        # the ESP tracking webhook receiver.
        from . import profiles, send_window
        from .delivery import tracking  # noqa: F401

        profiles.connect()
        checks.register(send_window.system_check)
