"""The version of the files cogdyn writes, so that a later cogdyn can read today's directories.

Every ``config.json``, ``summary.json``, ``analysis/summary.json`` and ``sweep.json`` carries
``"schema_version": SCHEMA_VERSION`` as its first key, and ``results.parquet`` carries it in its
Parquet metadata (key ``schema_version``). A file without it was written before versioning
(version 0) and is read as it is: the fields it lacks take their defaults. A file of a *newer*
version than this cogdyn knows is refused in one line (upgrade cogdyn) rather than misread.

Bump :data:`SCHEMA_VERSION` when the meaning of a written field changes; adding a field with a
default does not need a bump (old files simply lack it, and readers fill in the default).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cogdyn.errors import ConfigError

SCHEMA_VERSION = 1
"""The version of the files this cogdyn writes."""
SCHEMA_KEY = "schema_version"


def stamp(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with ``schema_version`` first (any version it had is replaced)."""
    return {SCHEMA_KEY: SCHEMA_VERSION, **{k: v for k, v in data.items() if k != SCHEMA_KEY}}


def check_version(version: Any, where: Any) -> int:
    """The schema version of a file (0 when it has none); ConfigError naming ``where`` when it is
    not a version this cogdyn can read."""
    if version is None:
        return 0
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise ConfigError(str(where), f"{SCHEMA_KEY} must be an integer ≥ 0, got {version!r}")
    if version > SCHEMA_VERSION:
        raise ConfigError(
            str(where),
            f"written by a newer cogdyn ({SCHEMA_KEY} {version}; this one reads up to "
            f"{SCHEMA_VERSION}): upgrade cogdyn to read it",
        )
    return version


def unstamp(data: Mapping[str, Any], where: Any) -> dict[str, Any]:
    """``data`` without its ``schema_version`` (checked with :func:`check_version`)."""
    check_version(data.get(SCHEMA_KEY), where)
    return {k: v for k, v in data.items() if k != SCHEMA_KEY}
