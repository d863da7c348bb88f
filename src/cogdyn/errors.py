"""The errors a user can cause, each reported by the CLI as one line: :class:`ConfigError` (a
value that is not allowed) and :class:`UnreadableFile` (exit status 2), :class:`RunFailed` (a run
that failed, e.g. diverged: exit status 1); and the small checks that raise them."""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from typing import Any


class ConfigError(ValueError):
    """A configuration value is not allowed. The message names the field and the allowed values."""

    def __init__(self, field_name: str, message: str) -> None:
        self.field = field_name
        self.message = message
        super().__init__(f"{field_name}: {message}")


class UnreadableFile(ConfigError):
    """A file of a run or sweep directory that cannot be read: truncated, garbled, or written by
    something else. One line naming the file, what is wrong and what to do (exit status 2)."""

    def __init__(self, path: Any, problem: str, advice: str = "") -> None:
        self.path = str(path)
        message = f"unreadable ({problem})" + (f"; {advice}" if advice else "")
        super().__init__(self.path, message)


class RunFailed(RuntimeError):
    """A run that failed for a reason of its own, e.g. training that diverged; the CLI prints
    one line and exits with status 1. ``record`` is where the failure is recorded, if anywhere."""

    def __init__(self, message: str, record: Any = None) -> None:
        self.record = None if record is None else str(record)
        super().__init__(message)


def unknown_key(field_name: str, allowed: Iterable[str], what: str = "field") -> ConfigError:
    """The error of a key that is not allowed: names it, lists the allowed ones, and suggests the
    closest when it looks like a typo (``[trian]`` → did you mean ``train``?)."""
    names = list(allowed)
    last = field_name.rsplit(".", 1)[-1]
    close = difflib.get_close_matches(last, names, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ConfigError(field_name, f"unknown {what}; allowed: {', '.join(names)}{hint}")


def require(ok: bool, field_name: str, message: str) -> None:
    """Raise :class:`ConfigError` (``field_name: message``) unless ``ok``."""
    if not ok:
        raise ConfigError(field_name, message)


def finite(x: Any) -> bool:
    """A finite int or float (an int as large as a float can hold), and not a bool."""
    if not isinstance(x, int | float) or isinstance(x, bool):
        return False
    try:
        return math.isfinite(x)
    except OverflowError:  # an int beyond the range of a float
        return False


def is_int(x: Any) -> bool:
    """An integer, and not a bool (``True`` is an ``int`` to Python, never to a config)."""
    return isinstance(x, int) and not isinstance(x, bool)


def check_int(field_name: str, value: Any, low: int | None = None) -> None:
    """Raise :class:`ConfigError` unless ``value`` is an integer (not a bool) ≥ ``low``."""
    if not is_int(value) or (low is not None and value < low):
        bound = f" ≥ {low}" if low is not None else ""
        raise ConfigError(field_name, f"must be an integer{bound}, got {value!r}")
