"""The shape of a preflight finding."""

import hashlib
from dataclasses import asdict, dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    BLOCK = "block"  # cannot be submitted until fixed
    ACKNOWLEDGE = "acknowledge"  # the reviewer must tick this finding by name
    INFO = "info"  # shown only


@dataclass(frozen=True)
class Finding:
    code: str  # stable identifier of the check, e.g. "merge.unknown_field"
    severity: Severity
    message: str  # translated: what is wrong, where, and how to fix it
    rows: tuple[int, ...] = field(default_factory=tuple)  # list rows as Excel numbers them
    files: tuple[str, ...] = field(default_factory=tuple)

    @property
    def key(self) -> str:
        """Identifies this finding on this version, for the reviewer's acknowledgement."""
        where = ",".join(map(str, self.rows)) + "|" + ",".join(self.files)
        return f"{self.code}:{hashlib.sha256(where.encode()).hexdigest()[:12]}"

    def as_dict(self) -> dict:
        data = asdict(self)
        data.update(severity=str(self.severity), rows=list(self.rows), files=list(self.files), key=self.key)
        return data


def row_summary(rows: list[int] | tuple[int, ...], limit: int = 10) -> str:
    """'3, 8, 12 …' — the first rows of a long list, for messages."""
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (" …" if len(rows) > limit else "")
