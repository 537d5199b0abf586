"""The shape of a preflight finding."""

from dataclasses import asdict, dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    BLOCK = "block"
    ACKNOWLEDGE = "acknowledge"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    code: str  # stable identifier, e.g. "merge.unknown_field"
    severity: Severity
    message: str  # translated: what is wrong and how to fix it
    rows: tuple[int, ...] = field(default_factory=tuple)  # list rows as a person counts them
    files: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["severity"] = str(self.severity)
        data["rows"] = list(self.rows)
        data["files"] = list(self.files)
        return data
