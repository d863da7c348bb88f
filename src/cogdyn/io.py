"""Run directories: atomic file writes, safetensors weights with a JSON sidecar, environment info.

Every write goes to a temporary file in the same directory and is renamed over the target, so a
crash or ``kill -9`` leaves either the old file or the new one, never half of one. Weights are
safetensors, tables CSV/Parquet, metadata JSON: nothing is pickled.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import platform
import struct
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import torch
from safetensors import SafetensorError
from safetensors.torch import load, save

from cogdyn.config import ModelConfig, RunConfig, build_section, run_config_from_dict
from cogdyn.errors import ConfigError, RunFailed, UnreadableFile
from cogdyn.models import VanillaRNN, model_from_state
from cogdyn.schema import check_version

# The layout of a run directory (cogdyn train, cogdyn analyze, cogdyn eval, cogdyn plot) ...
MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
ENV_FILE = "env.json"
METRICS_FILE = "metrics.csv"
SUMMARY_FILE = "summary.json"
FAILURE_FILE = "failure.json"
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
CLAIMS_FILE = "claims.json"
"""The report's claims table as data, written beside the report."""
RUNS_DIR = "runs"
RECORDS_DIR = "cells"
LOGS_DIR = "logs"
LOCK_FILE = ".lock"
SIMILARITY_FILE = "similarity.parquet"
MDS_FILE = "similarity_mds.parquet"
SIMILARITY_JSON = "similarity.json"
SIMILARITY_FIGURE_FILE = "similarity.png"
# ... and of a sensitivity study directory (cogdyn sensitivity): a sweep directory per variant.
STUDY_FILE = "sensitivity.json"
"""The resolved sensitivity study (its base and variants), written first."""
BASE_DIR = "base"
"""The base study's sweep directory, ``DIR/base``."""
VARIANTS_DIR = "variants"
"""``DIR/variants/<variant>``: one sweep directory per variant that has cells."""
SENSITIVITY_FILE = "sensitivity.parquet"
"""One row per variant × claim: the verdict and the central RL − SL effect."""


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


RETRAIN = "restore it from a copy, or train the run again"


def read_json(path: str | Path, advice: str = RETRAIN) -> Any:
    """The JSON value of a file; :class:`~cogdyn.errors.UnreadableFile` (naming the file and
    ``advice``) when it is truncated or garbled, FileNotFoundError when it is missing."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as fh:
            return json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UnreadableFile(path, f"not valid JSON: {_first_line(e)}", advice) from None
    except IsADirectoryError:
        raise UnreadableFile(path, "a directory, not a file", advice) from None


def read_json_object(path: str | Path, advice: str = RETRAIN) -> dict[str, Any]:
    """:func:`read_json` of a file that must hold a JSON object whose ``schema_version`` this
    cogdyn reads."""
    data = read_json(path, advice)
    if not isinstance(data, dict):
        raise UnreadableFile(path, f"a JSON {type(data).__name__}, not an object", advice)
    check_version(data.get("schema_version"), path)
    return data


def read_table(
    path: str | Path, required: Iterable[str] = (), advice: str = RETRAIN
) -> pd.DataFrame:
    """A Parquet table holding at least the ``required`` columns;
    :class:`~cogdyn.errors.UnreadableFile` when it is truncated, garbled or lacks them."""
    path = Path(path)
    try:
        frame = pd.read_parquet(path)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, TypeError, pa.ArrowException) as e:
        raise UnreadableFile(path, f"not a Parquet table: {_first_line(e)}", advice) from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise UnreadableFile(path, f"no column {missing[0]!r}", advice)
    return frame


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def write_csv(path: str | Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """Atomically write rows (dicts) as CSV. The columns are every key, in the order of first
    appearance; a row without a column leaves it empty (a run resumed by a newer cogdyn adds
    columns its earlier rows do not have)."""
    rows = list(rows)
    buf = io.StringIO()
    if rows:
        columns = list(dict.fromkeys(k for row in rows for k in row))
        writer = csv.DictWriter(buf, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    atomic_write_bytes(path, buf.getvalue().encode())


def save_model(model: torch.nn.Module, path: str | Path, metadata: Mapping[str, Any]) -> None:
    """Save weights as safetensors (``torch.nn.RNN`` names) and ``metadata`` as a JSON sidecar.

    The sidecar (``<name>.json``) holds the model config and whatever else describes the weights
    (update count, accuracy); safetensors' own header gets the same as strings. The sidecar
    also holds the SHA-256 of the safetensors file (``sha256``), so that a garbled
    weights file is refused when read instead of analysed as if it were the network.
    """
    path = Path(path)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    header = {k: json.dumps(v, default=_json_default) for k, v in metadata.items()}
    data = save(tensors, metadata=header)
    atomic_write_bytes(path, data)
    write_json(path.with_suffix(".json"), {**metadata, "sha256": hashlib.sha256(data).hexdigest()})


def load_state(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Weights and metadata saved by :func:`save_model`.

    A truncated or garbled file is an :class:`~cogdyn.errors.UnreadableFile`: the file must parse
    as safetensors, match the checksum in its sidecar (when the sidecar has one) and the sidecar
    must agree with the metadata inside the file (the copy the checksum covers)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    sidecar = path.with_suffix(".json")
    meta = read_json(sidecar) if sidecar.is_file() else {}
    if not isinstance(meta, dict):
        raise UnreadableFile(sidecar, "not a JSON object", RETRAIN)
    data = path.read_bytes()
    try:
        state = load(data)
        inside = _header_metadata(data)
    except (SafetensorError, ValueError, struct.error) as e:
        raise UnreadableFile(path, f"not a safetensors file: {_first_line(e)}", RETRAIN) from None
    expected = meta.get("sha256")
    if expected is not None and expected != hashlib.sha256(data).hexdigest():
        raise UnreadableFile(path, f"its checksum does not match {sidecar.name}", RETRAIN)
    plain = {k: v for k, v in meta.items() if k != "sha256"}
    if inside and plain and inside != plain:
        raise UnreadableFile(sidecar, f"does not match the metadata inside {path.name}", RETRAIN)
    return state, {**inside, **plain} if plain else inside


def _header_metadata(data: bytes) -> dict[str, Any]:
    """The ``__metadata__`` of a safetensors file's header, each value decoded from JSON."""
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    out = {}
    for key, text in (header.get("__metadata__") or {}).items():
        try:
            out[key] = json.loads(text)
        except (TypeError, ValueError):
            out[key] = text
    return out


WEIGHTS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
"""The recurrent tensors of a saved network (``torch.nn.RNN`` names)."""


VANILLA = "vanilla"
"""The ``arch`` of cogdyn's own :class:`~cogdyn.models.VanillaRNN` (a sidecar without ``arch``)."""


def load_model(path: str | Path) -> Any:
    """Rebuild the model of a safetensors file and its sidecar: a
    :class:`~cogdyn.models.VanillaRNN`, or, where the sidecar names another ``arch`` (an
    imported ``gru``, ``lstm`` or ``rnn``), a :class:`~cogdyn.models.RecurrentNet` from the
    sidecar's ``network`` spec.

    The network's size comes from the tensors; a file whose tensors are missing, of the wrong
    shape, or disagree with the sidecar's model config is an
    :class:`~cogdyn.errors.UnreadableFile`."""
    path = Path(path)
    state, meta = load_state(path)
    if meta.get("arch", VANILLA) != VANILLA:
        try:
            return model_from_state(state, meta["network"])
        except (KeyError, RuntimeError, ValueError, TypeError) as e:
            raise UnreadableFile(
                path, f"not a readable {meta.get('arch')} network: {e}", RETRAIN
            ) from None
    needed = (*WEIGHTS, "readout.weight", "readout.bias", "value.weight", "value.bias")
    missing = [k for k in needed if k not in state]
    if missing:
        raise UnreadableFile(path, f"no tensor {missing[0]}: not a cogdyn network", RETRAIN)
    w_in = state["weight_ih_l0"]
    if w_in.dim() != 2 or state["readout.weight"].dim() != 2:
        raise UnreadableFile(path, "weight_ih_l0 and readout.weight must be matrices", RETRAIN)
    n_hidden, n_in = w_in.shape
    n_out = state["readout.weight"].shape[0]
    try:
        cfg = build_section(ModelConfig, "model", meta.get("model", {"hidden": n_hidden}))
    except ConfigError as e:
        raise UnreadableFile(path.with_suffix(".json"), str(e), RETRAIN) from None
    if cfg.hidden != n_hidden:
        raise UnreadableFile(
            path, f"{n_hidden} hidden units, but its model config says {cfg.hidden}", RETRAIN
        )
    model = VanillaRNN(n_in, n_out, cfg)
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise UnreadableFile(
            path, f"tensors of the wrong shape: {_first_line(e)}", RETRAIN
        ) from None
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


def read_config(run_dir: str | Path) -> RunConfig:
    """The run config of a run directory (``config.json``; fields it lacks take their defaults,
    so a directory written before a field was added still reads)."""
    run_dir = Path(run_dir)
    path = run_dir / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no {CONFIG_FILE})")
    data = read_json_object(path)
    try:
        return run_config_from_dict(data, where=str(path))
    except ConfigError as e:
        if e.field == str(path):
            raise
        raise UnreadableFile(path, f"not a run config this cogdyn reads: {e}", RETRAIN) from None


def check_finished(run_dir: str | Path) -> None:
    """Refuse, in one line, a run directory whose training did not finish: failed (diverged,
    :data:`FAILURE_FILE`), interrupted, or never started."""
    run_dir = Path(run_dir)
    if (run_dir / SUMMARY_FILE).is_file():
        return
    if not (run_dir / CONFIG_FILE).is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no {CONFIG_FILE})")
    failure = run_dir / FAILURE_FILE
    if failure.is_file():
        record = read_json(failure)
        reason = record.get("error") if isinstance(record, dict) else None
        raise RunFailed(f"{run_dir}: training failed ({reason or 'see ' + FAILURE_FILE})", failure)
    if (run_dir / BOOK_FILE).is_file():
        raise FileNotFoundError(
            f"{run_dir} has no {SUMMARY_FILE}: training was interrupted; continue it with "
            f"`cogdyn train --resume --out {run_dir}`"
        )
    raise FileNotFoundError(f"{run_dir} has no {SUMMARY_FILE}: training did not finish")


def read_summary(run_dir: str | Path) -> dict[str, Any]:
    """A run's training ``summary.json``, checked for the keys that readers rely on (updates,
    accuracy, the checkpoint list); UnreadableFile when it is garbled."""
    run_dir = Path(run_dir)
    check_finished(run_dir)
    path = run_dir / SUMMARY_FILE
    summary = read_json_object(path)

    def bad(why: str) -> UnreadableFile:
        return UnreadableFile(path, why, RETRAIN)

    for key in ("updates",):
        if not _is_count(summary.get(key)):
            raise bad(f"{key} must be an integer ≥ 0, got {summary.get(key)!r}")
    if not _is_number(summary.get("accuracy")):
        raise bad(f"accuracy must be a number, got {summary.get('accuracy')!r}")
    checkpoints = summary.get("checkpoints", [])
    if not isinstance(checkpoints, list):
        raise bad("checkpoints must be a list")
    for c in checkpoints:
        ok = (
            isinstance(c, dict)
            and isinstance(c.get("file"), str)
            and isinstance(c.get("kind"), str)
            and _is_count(c.get("update"))
            and _is_number(c.get("accuracy"))
        )
        if not ok:
            raise bad(f"checkpoint entry {c!r} needs file, kind, update and accuracy")
    return summary


def _is_count(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def load_run(run_dir: str | Path, model_file: str = MODEL_FILE) -> tuple[RunConfig, Any]:
    """The config and trained model of a run directory."""
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    if not (run_dir / model_file).is_file() and model_file == MODEL_FILE:
        check_finished(run_dir)
    model = load_model(run_dir / model_file)
    model.eval()
    return config, model
