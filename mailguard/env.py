"""Tiny helpers to read settings from the environment (twelve-factor style)."""

import os


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_prefixed(prefix: str) -> dict[str, object]:
    """All variables starting with prefix, prefix removed (ANYMAIL_X -> X), numbers as numbers."""
    return {key[len(prefix):]: _number_or_text(value)
            for key, value in os.environ.items() if key.startswith(prefix)}


def _number_or_text(value: str) -> object:
    # Libraries such as requests refuse "5" where they expect 5 (e.g. ANYMAIL_REQUESTS_TIMEOUT).
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value
