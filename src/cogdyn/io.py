"""Run directories: atomic file writes, safetensors weights with a JSON sidecar, environment info.

Every write goes to a temporary file in the same directory and is renamed over the target, so a
crash or ``kill -9`` leaves either the old file or the new one, never half of one. Weights are
safetensors, tables CSV/Parquet, metadata JSON: nothing is pickled.
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save

from cogdyn.config import ModelConfig, RunConfig, run_config_from_dict
from cogdyn.models import VanillaRNN, model_from_state

# The layout of a run directory (cogdyn train, cogdyn analyze, cogdyn eval, cogdyn plot) ...
MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
ENV_FILE = "env.json"
METRICS_FILE = "metrics.csv"
SUMMARY_FILE = "summary.json"
CHECKPOINT_DIR = "checkpoints"
STATE_FILE = "resume.safetensors"
BOOK_FILE = "resume.json"
ANALYSIS_DIR = "analysis"
FIGDATA_DIR = "figdata"
EVAL_DIR = "eval"
FIGURES_DIR = "figures"
# ... and of a sweep directory (cogdyn sweep, results, similarity, report).
SWEEP_FILE = "sweep.json"
RESULTS_FILE = "results.parquet"
CHECKPOINTS_FILE = "checkpoints.parquet"
STATS_FILE = "stats.json"
REPORT_FILE = "report.html"
RUNS_DIR = "runs"
RECORDS_DIR = "cells"
LOCK_FILE = ".lock"
SIMILARITY_FILE = "similarity.parquet"
MDS_FILE = "similarity_mds.parquet"
SIMILARITY_JSON = "similarity.json"
SIMILARITY_FIGURE_FILE = "similarity.png"


def analysis_file(run_dir: str | Path, name: str) -> Path:
    """``RUN_DIR/analysis/<name>.parquet``, one table of ``cogdyn analyze``."""
    return Path(run_dir) / ANALYSIS_DIR / f"{name}.parquet"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp creates files readable by the owner only; results should get the usual permissions.
_FILE_MODE = 0o666 & ~_umask()


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json_default(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_json(path: str | Path, data: Any) -> None:
    """Atomically write ``data`` as indented JSON."""
    text = json.dumps(data, indent=2, default=_json_default, allow_nan=False) + "\n"
    atomic_write_bytes(path, text.encode())


def as_written(data: Any) -> Any:
    """``data`` as :func:`write_json` then :func:`read_json` give it back (tuples become lists,
    tensors and numpy values plain numbers), for comparing with what a file holds."""
    return json.loads(json.dumps(data, default=_json_default, allow_nan=False))


def read_json(path: str | Path) -> Any:
    with Path(path).open() as fh:
        return json.load(fh)


def write_csv(path: str | Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """Atomically write rows (dicts with the same keys) as CSV."""
    rows = list(rows)
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    atomic_write_bytes(path, buf.getvalue().encode())


def save_model(model: torch.nn.Module, path: str | Path, metadata: Mapping[str, Any]) -> None:
    """Save weights as safetensors (``torch.nn.RNN`` names) and ``metadata`` as a JSON sidecar.

    The sidecar (``<name>.json``) holds the model config and whatever else describes the weights
    (update count, accuracy); safetensors' own header gets the same as strings.
    """
    path = Path(path)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    header = {k: json.dumps(v, default=_json_default) for k, v in metadata.items()}
    atomic_write_bytes(path, save(tensors, metadata=header))
    write_json(path.with_suffix(".json"), dict(metadata))


def load_state(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Weights and sidecar metadata saved by :func:`save_model`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    sidecar = path.with_suffix(".json")
    meta = read_json(sidecar) if sidecar.is_file() else {}
    return load_file(str(path)), meta


VANILLA = "vanilla"
"""The ``arch`` of cogdyn's own :class:`~cogdyn.models.VanillaRNN` (a sidecar without ``arch``)."""


def load_model(path: str | Path) -> Any:
    """Rebuild the model of a safetensors file and its sidecar: a
    :class:`~cogdyn.models.VanillaRNN`, or, where the sidecar names another ``arch`` (an
    imported ``gru``, ``lstm`` or ``rnn``), a :class:`~cogdyn.models.RecurrentNet` from the
    sidecar's ``network`` spec."""
    state, meta = load_state(path)
    if meta.get("arch", VANILLA) != VANILLA:
        return model_from_state(state, meta["network"])
    cfg = ModelConfig(**meta["model"]) if "model" in meta else None
    n_hidden, n_in = state["weight_ih_l0"].shape
    n_out = state["readout.weight"].shape[0]
    cfg = cfg or ModelConfig(hidden=n_hidden)
    model = VanillaRNN(n_in, n_out, cfg)
    model.load_state_dict(state)
    return model


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).parent,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def environment_info(device: str = "cpu") -> dict[str, Any]:
    """Versions, cores, device and git commit, for ``env.json``."""
    import cogdyn

    return {
        "cogdyn": cogdyn.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": device,
        "cuda": torch.cuda.get_device_name(0) if device.startswith("cuda") else None,
        "git_commit": _git_commit(),
    }


def load_run(run_dir: str | Path, model_file: str = MODEL_FILE) -> tuple[RunConfig, Any]:
    """The config and trained model of a run directory."""
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG_FILE).is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no {CONFIG_FILE})")
    config = run_config_from_dict(read_json(run_dir / CONFIG_FILE))
    model = load_model(run_dir / model_file)
    model.eval()
    return config, model
