"""Settings for bench/delivery.py: MailGuard's own, plus django-post-office as a peer to compare with."""

from mailguard.settings import *  # noqa: F403
from mailguard.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "post_office"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"post_office": {"handlers": ["console"], "level": "WARNING", "propagate": False}},
}
POST_OFFICE = {
    "BACKENDS": {"default": "anymail.backends.postmark.EmailBackend"},
    "DEFAULT_PRIORITY": "medium",
    "LOG_LEVEL": 0,
    "MESSAGE_ID_ENABLED": False,
}
