"""Deployment checks (``manage.py check --deploy``) for what MailGuard's own settings must hold."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

MIN_AUDIT_KEY_LENGTH = 32


@register(Tags.security, deploy=True)
def webhook_secret_is_set(app_configs, **kwargs):
    if (getattr(settings, "ANYMAIL", None) or {}).get("WEBHOOK_SECRET"):
        return []
    return [Error(
        "ANYMAIL_WEBHOOK_SECRET is not set: the ESP tracking webhooks refuse every request, so bounces, "
        "complaints and unsubscribes never reach the suppression list.",
        hint="Set ANYMAIL_WEBHOOK_SECRET=user:password and give the ESP the same credentials.",
        id="mailguard.E001",
    )]


@register(Tags.security, deploy=True)
def audit_key_is_strong(app_configs, **kwargs):
    key = getattr(settings, "MAILGUARD_AUDIT_KEY", "")
    if len(key) >= MIN_AUDIT_KEY_LENGTH:
        return []
    return [Error(
        f"MAILGUARD_AUDIT_KEY is missing or shorter than {MIN_AUDIT_KEY_LENGTH} characters: the audit "
        "chain's hashes could be recomputed by whoever can write to the database.",
        hint="python -c 'import secrets; print(secrets.token_hex(32))', kept outside the database.",
        id="mailguard.E002",
    )]


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
