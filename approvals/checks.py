"""Deployment checks of MailGuard's own settings (``manage.py check --deploy``)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def public_links_use_https(app_configs, **kwargs):
    """Download and unsubscribe links carry a recipient's token, and the download form their address."""
    base = settings.MAILGUARD["PUBLIC_BASE_URL"]
    if base.startswith("https://"):
        return []
    return [Warning(
        f"MAILGUARD_PUBLIC_BASE_URL is {base!r}: recipients' download and unsubscribe links must use https.",
        id="mailguard.W001",
    )]
