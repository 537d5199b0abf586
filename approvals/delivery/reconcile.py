"""Ask the ESP whether it already holds a message, so an ambiguous answer is settled by evidence.

When the ESP answers 5xx it has finished handling the request, so searching its
log for our delivery key afterwards is reliable: found means accepted (never
resend), not found means refused (safe to retry). A timeout is different: the
ESP may still be working on the request, so it stays "in doubt" for a person.
One small class per ESP that offers a search; without one, nothing is guessed.
"""

import logging

import requests
from django.conf import settings

log = logging.getLogger(__name__)

METADATA_KEY = "mailguard_delivery"


class LookupUnavailable(Exception):
    """The ESP could not be asked; the delivery stays in doubt."""


class PostmarkLookup:
    def __init__(self, api_url: str, token: str, timeout: float):
        self.url = api_url.rstrip("/") + "/messages/outbound"
        self.token = token
        self.timeout = timeout

    def find(self, delivery_key: str) -> str | None:
        """The ESP's message id for our delivery key, or None when it has no such message."""
        try:
            response = requests.get(
                self.url,
                params={"count": 1, "offset": 0, f"metadata_{METADATA_KEY}": delivery_key},
                headers={"X-Postmark-Server-Token": self.token, "Accept": "application/json"},
                timeout=self.timeout,
            )
            response.raise_for_status()
            messages = response.json().get("Messages", [])
        except (requests.RequestException, ValueError) as err:
            raise LookupUnavailable(str(err)) from err
        return messages[0]["MessageID"] if messages else None


def lookup_for_configured_esp():
    """The search for the configured backend, or None when it has none."""
    from anymail.backends.postmark import EmailBackend as PostmarkBackend
    from django.utils.module_loading import import_string

    anymail = getattr(settings, "ANYMAIL", {})
    if issubclass(import_string(settings.EMAIL_BACKEND), PostmarkBackend):
        return PostmarkLookup(
            anymail.get("POSTMARK_API_URL", "https://api.postmarkapp.com/"),
            anymail.get("POSTMARK_SERVER_TOKEN", ""),
            float(anymail.get("REQUESTS_TIMEOUT", 30)),
        )
    return None


def delivery_key(message_id: str) -> str:
    """Our Message-ID without brackets: what the message carries as metadata for the search."""
    return message_id.strip("<>")
