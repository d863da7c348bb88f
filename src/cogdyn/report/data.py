"""Everything the report reads, from files only: the sweep's ``sweep.json``, ``results.parquet``
and ``stats.json``, and each run directory's ``config.json``, ``env.json``, ``summary.json`` and
``analysis/`` tables. Missing optional pieces come back as ``None`` (the page then says "not
computed") rather than raising.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from cogdyn import io
from cogdyn.experiments.results import read_results, representative_row
from cogdyn.io import ANALYSIS_DIR, FIGDATA_DIR, read_json
from cogdyn.schema import SCHEMA_KEY, check_version

"""Per-run figure data cached by :func:`cogdyn.analysis.figure_data.write_figure_data`, under
``RUN/analysis/figdata/``."""
OPTIONAL_TABLES: tuple[str, ...] = (
    "attractors",
    "fixed_points",
    "basins",
    "populations",
    "robustness",
    "information",
    "crystallisation",
)


@dataclass
class SweepFiles:
    """A sweep directory as read from disk."""

    root: Path
    spec: dict[str, Any]
    results: pd.DataFrame
    stats: dict[str, Any] | None

    @property
    def done(self) -> pd.DataFrame:
        """Rows of finished cells."""
        if "status" not in self.results:
            return self.results
        return self.results[self.results["status"] == "done"]

    def run_path(self, run_dir: str) -> Path:
        return self.root / run_dir


@dataclass
class Run:
    """One run directory: its files, loaded lazily and cached."""

    path: Path
    row: dict[str, Any] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def json(self, rel: str) -> dict[str, Any] | None:
        """``RUN/rel`` as JSON, or None when missing or unreadable."""
        if rel not in self._cache:
            self._cache[rel] = _read_json_or_none(self.path / rel)
        return self._cache[rel]

    def table(self, name: str) -> pd.DataFrame | None:
        """``analysis/<name>.parquet`` (or ``analysis/figdata/<name>.parquet``), or None."""
        key = f"table:{name}"
        if key not in self._cache:
            self._cache[key] = None
            for rel in (
                f"{ANALYSIS_DIR}/{name}.parquet",
                f"{ANALYSIS_DIR}/{FIGDATA_DIR}/{name}.parquet",
            ):
                if (self.path / rel).is_file():
                    self._cache[key] = _read_parquet_or_none(self.path / rel)
                    break
        return self._cache[key]

    @property
    def analysis(self) -> dict[str, Any] | None:
        return self.json(f"{ANALYSIS_DIR}/summary.json")

    @property
    def short(self) -> str:
        """``RL δ=0.1 s0``: a label that fits a panel title (δ and seed left out where a run has
        none, as an imported network)."""
        r = self.row
        algo = {"ppo": "RL", "sl": "SL"}.get(str(r.get("algo")), str(r.get("algo")))
        parts = [algo]
        if r.get("delta") is not None:
            parts.append(f"δ={r.get('delta')}")
        if r.get("seed") is not None:
            parts.append(f"s{r.get('seed')}")
        return " ".join(parts)

    @property
    def label(self) -> str:
        r = self.row
        algo = {"ppo": "RL (PPO)", "sl": "SL"}.get(str(r.get("algo")), str(r.get("algo")))
        bits = [algo]
        for key, sym in (("delta", "δ"), ("seed", "seed"), ("dim_ring", "dim_ring")):
            if key in r and r[key] is not None:
                bits.append(
                    f"{sym} = {r[key]:g}" if isinstance(r[key], float) else f"{sym} = {r[key]}"
                )
        return ", ".join(bits)


def _read_json_or_none(path: Path) -> Any:
    """A JSON object, or None when the file is missing, unreadable or holds something else (the
    page then says "not computed" for what it would have shown). A file written by a newer
    cogdyn is refused (ConfigError) rather than misread."""
    try:
        data = read_json(path)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    check_version(data.get(SCHEMA_KEY), path)
    return data


def _read_parquet_or_none(path: Path) -> pd.DataFrame | None:
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError, TypeError, pa.ArrowException):
        return None


def read_table_or_none(path: str | Path) -> pd.DataFrame | None:
    """A Parquet table the report may show, or None when missing or unreadable."""
    return _read_parquet_or_none(Path(path)) if Path(path).is_file() else None


def read_csv_or_none(path: str | Path) -> pd.DataFrame | None:
    """A CSV table (``metrics.csv``), or None when missing or unreadable."""
    try:
        return pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None


def read_sweep(sweep_dir: str | Path) -> SweepFiles:
    """Read a sweep directory; ``results.parquet`` is required (FileNotFoundError or
    UnreadableFile, one line), the rest optional."""
    root = Path(sweep_dir)
    if not (root / io.RESULTS_FILE).is_file():
        raise FileNotFoundError(f"{root} is not a sweep directory (no results.parquet)")
    results = read_results(root)
    spec = _read_json_or_none(root / io.SWEEP_FILE) or {}
    stats = _read_json_or_none(root / io.STATS_FILE)
    return SweepFiles(root=root, spec=spec, results=results, stats=stats)


def num(x: Any) -> float | None:
    """A finite float, or None for None / NaN / non-numbers (JSON nulls, pandas NA)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def representative(sweep: SweepFiles, algo: str) -> Run | None:
    """The finished run of ``algo`` whose F_QP is nearest the median of its paradigm (ties: the
    lower seed, then the lower δ); None when the paradigm has no finished run."""
    pick = representative_row(sweep.done, sweep.root, algo)
    if pick is None:
        return None
    return Run(path=sweep.run_path(str(pick.get("run_dir", ""))), row=pick)


def runs(sweep: SweepFiles) -> list[Run]:
    """Every finished run, in the table's order."""
    return [
        Run(path=sweep.run_path(str(r.get("run_dir", ""))), row=r)
        for r in sweep.done.to_dict("records")
    ]


def dumps(obj: Any) -> str:
    """Pretty JSON for the page (NaN → null)."""
    return json.dumps(obj, indent=2, default=str, allow_nan=True).replace("NaN", "null")
