"""Finding addresses in untrusted text in linear time, whatever the text holds.

The guards look for addresses in message bodies and attachments with a regular
expression. Run as is over a long run of letters with no "@", such an
expression re-reads the run from every position (40 KB of letters took 15 s;
with the local part bounded to 64 characters, still 64 steps per character).
``AddressPattern`` finds exactly the same matches, starting only from the "@"s.
"""

import re
from collections.abc import Iterator

LOCAL_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._+'-")
LOCAL_MAX = 64  # RFC 5321
# On normalised (lower-case) text. "%40" is "@" percent-encoded, as in unsubscribe links.
ADDRESS = re.compile(r"[a-z0-9._+'-]{1,64}(?:@|%40)[a-z0-9-]+(?:\.[a-z0-9-]+)+")
_AT = re.compile(r"@|%40")


class AddressPattern:
    """``finditer`` gives the ``re.Match`` objects ``ADDRESS.finditer`` would, in linear time.

    The local part cannot contain "@" or "%", so a match's local part is the run of
    local characters just before its "@" (at most 64 of them, and none before the
    previous match's end): for each "@", walk back at most 64 characters and match
    from there. Later "@"s give later starts, so the first that matches is the
    leftmost match, as in ``re.finditer``.
    """

    pattern = ADDRESS.pattern

    def finditer(self, text: str) -> Iterator[re.Match]:
        position = 0
        at = _AT.search(text, position)
        while at is not None:
            start = at.start()
            floor = max(position, start - LOCAL_MAX)
            while start > floor and text[start - 1] in LOCAL_CHARACTERS:
                start -= 1
            match = ADDRESS.match(text, start) if start < at.start() else None
            if match is not None:
                yield match
                position = match.end()
                at = _AT.search(text, position)
            else:
                at = _AT.search(text, at.start() + 1)
