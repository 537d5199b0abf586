"""A message's bytes as they go to the relay: the stdlib generator, minus its cost on plain headers.

Serialising a message spends most of its time folding headers: the stdlib builds an
``email.header.Header`` for every header, even ``MIME-Version: 1.0``. A header whose
value is printable ASCII words separated by single spaces and whose line fits the
limit comes out of that unchanged, so ``WirePolicy`` writes it directly and leaves
every other header (encoded words over the limit, RFC 2231 file names, anything
unusual) to the stdlib. The bytes are identical either way; tests/test_wire.py
compares them with the stdlib's on generated messages.
"""

import re
from email.generator import BytesGenerator
from email.policy import Compat32
from io import BytesIO

# Printable ASCII words joined by single spaces: nothing a folder would split, re-space or encode.
_PLAIN_VALUE = re.compile(r"[!-~]+(?: [!-~]+)*")


class WirePolicy(Compat32):
    """compat32 (Django's policy), with the plain-header shortcut."""

    def fold_binary(self, name, value):
        if isinstance(value, str) and self._fits(name, value) and _PLAIN_VALUE.fullmatch(value):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)

    def _fits(self, name: str, value: str) -> bool:
        return not self.max_line_length or len(name) + 2 + len(value) <= self.max_line_length


WIRE_POLICY = WirePolicy(linesep="\r\n")


def message_bytes(message) -> bytes:
    """The RFC 5322 bytes (CRLF line ends) of a Django EmailMessage, as ``message().as_bytes()`` gives them."""
    return mime_bytes(message.message())


def mime_bytes(mime) -> bytes:
    buffer = BytesIO()
    BytesGenerator(buffer, mangle_from_=False, policy=WIRE_POLICY).flatten(mime, linesep="\r\n")
    return buffer.getvalue()
