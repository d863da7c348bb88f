"""Period durations in configs: a constant or a distribution, validated like every config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cogdyn.errors import ConfigError, finite, require

DurationKind = Literal["constant", "uniform", "truncexp", "choice"]


@dataclass(frozen=True)
class Duration:
    """Duration of a trial period in ms: a constant or a distribution.

    ``constant``: ``value``. ``uniform``: U(min, max). ``truncexp``: an exponential of mean ``mean``
    conditioned on [min, max) — the same law as neurogym's ``TruncExp(mean, min, max)``.
    ``choice``: uniform over ``values``.
    """

    kind: DurationKind = "constant"
    value: float = 0.0
    mean: float = 0.0
    min: float = 0.0
    max: float = 0.0
    values: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        kinds = ("constant", "uniform", "truncexp", "choice")
        require(self.kind in kinds, "duration.dist", f"must be one of {kinds}, got {self.kind!r}")
        if self.kind == "constant":
            require(finite(self.value) and self.value >= 0, "duration", "must be a number ≥ 0")
        elif self.kind == "uniform":
            require(
                finite(self.min) and finite(self.max) and 0 <= self.min <= self.max,
                "duration",
                "uniform needs 0 ≤ min ≤ max",
            )
        elif self.kind == "truncexp":
            require(
                finite(self.mean) and self.mean > 0 and finite(self.min) and finite(self.max),
                "duration",
                "truncexp needs mean > 0 and finite min, max",
            )
            require(0 <= self.min < self.max, "duration", "truncexp needs 0 ≤ min < max")
        else:
            require(
                len(self.values) > 0 and all(finite(v) and v >= 0 for v in self.values),
                "duration",
                "choice needs a non-empty list of numbers ≥ 0",
            )

    @property
    def lowest(self) -> float:
        """The smallest duration this can produce (ms)."""
        return {
            "constant": self.value,
            "uniform": self.min,
            "truncexp": self.min,
            "choice": min(self.values) if self.values else 0.0,
        }[self.kind]

    @property
    def highest(self) -> float:
        """The largest duration this can produce (ms)."""
        return {
            "constant": self.value,
            "uniform": self.max,
            "truncexp": self.max,
            "choice": max(self.values) if self.values else 0.0,
        }[self.kind]

    @property
    def is_constant(self) -> bool:
        return self.kind == "constant" or (self.kind == "choice" and len(set(self.values)) == 1)

    @staticmethod
    def parse(spec: Any, field_name: str) -> Duration:
        """Build from a number (ms) or a table ``{dist = ..., ...}``; errors name ``field_name``."""
        if isinstance(spec, Duration):
            return spec
        if finite(spec):
            require(spec >= 0, field_name, f"must be ≥ 0 ms, got {spec}")
            return Duration("constant", value=float(spec))
        if isinstance(spec, Mapping):
            spec = dict(spec)
            dist = spec.pop("dist", None)
            allowed = {
                "uniform": {"min", "max"},
                "truncexp": {"mean", "min", "max"},
                "choice": {"values"},
                "constant": {"value"},
            }
            require(dist in allowed, f"{field_name}.dist", f"must be one of {sorted(allowed)}")
            require(
                set(spec) == allowed[dist],
                field_name,
                f"{dist} needs exactly the keys {sorted(allowed[dist])}, got {sorted(spec)}",
            )
            try:
                if dist == "choice":
                    return Duration("choice", values=tuple(float(v) for v in spec["values"]))
                return Duration(dist, **{k: float(v) for k, v in spec.items()})
            except ConfigError as e:
                raise ConfigError(field_name, str(e).split(": ", 1)[-1]) from None
            except (TypeError, ValueError, OverflowError):
                raise ConfigError(field_name, "values must be numbers") from None
        raise ConfigError(
            field_name, f"must be a number (ms) or a distribution table, got {spec!r}"
        )

    def to_json(self) -> Any:
        if self.kind == "constant":
            return self.value
        if self.kind == "choice":
            return {"dist": "choice", "values": list(self.values)}
        if self.kind == "uniform":
            return {"dist": "uniform", "min": self.min, "max": self.max}
        return {"dist": "truncexp", "mean": self.mean, "min": self.min, "max": self.max}
