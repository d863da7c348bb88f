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
    if not ok:
        raise ConfigError(field_name, message)


def finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
