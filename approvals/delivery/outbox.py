"""An email backend for the embedded mode: every message becomes an .eml file a person can open."""

import re
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend


class OutboxEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        outbox = Path(settings.MAILGUARD_OUTBOX_DIR)
        outbox.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            mime = message.message()
            name = re.sub(r"[^A-Za-z0-9._-]", "_", mime["Message-ID"].strip("<>"))
            path = outbox / f"{name}.eml"
            # Write then rename, so a reader never sees half a message.
            partial = path.with_suffix(".part")
            partial.write_bytes(mime.as_bytes(linesep="\r\n"))
            partial.replace(path)
        return len(email_messages)
