"""The one error type of bad configuration, and the small checks that raise it."""

from __future__ import annotations

import math
from typing import Any


class ConfigError(ValueError):
    """A configuration value is not allowed. The message names the field and the allowed values."""

    def __init__(self, field_name: str, message: str) -> None:
        self.field = field_name
        self.message = message
        super().__init__(f"{field_name}: {message}")


def require(ok: bool, field_name: str, message: str) -> None:
    """Raise :class:`ConfigError` (``field_name: message``) unless ``ok``."""
    if not ok:
        raise ConfigError(field_name, message)


def finite(x: Any) -> bool:
    """A finite int or float, and not a bool."""
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def is_int(x: Any) -> bool:
    """An integer, and not a bool (``True`` is an ``int`` to Python, never to a config)."""
    return isinstance(x, int) and not isinstance(x, bool)


def check_int(field_name: str, value: Any, low: int | None = None) -> None:
    """Raise :class:`ConfigError` unless ``value`` is an integer (not a bool) ≥ ``low``."""
    if not is_int(value) or (low is not None and value < low):
        bound = f" ≥ {low}" if low is not None else ""
        raise ConfigError(field_name, f"must be an integer{bound}, got {value!r}")
