"""Resume state of a training run: what an interrupted run needs to continue bit for bit.

At every evaluation :func:`~cogdyn.train.loop.run_training` saves the model, the optimiser's
state and the updater's random generator (``resume.safetensors``) with the loop's bookkeeping
(``resume.json``: update count, totals, metrics rows, checkpoints, criterion). A run restarted
with ``resume=True`` continues from there and produces the same weights, metrics and summary as
one that was never interrupted (same threads, same device). Both files are written atomically,
tensors first, so the JSON always describes tensors that are on disk. Nothing is pickled.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from cogdyn import io
from cogdyn.io import BOOK_FILE, STATE_FILE


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], Any]:
    """Split an optimiser's state dict into flat tensors and a JSON-able rest."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    plain: dict[str, dict[str, Any]] = {}
    for pid, entries in state["state"].items():
        for name, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{pid}.{name}"] = value.detach().cpu().contiguous()
            else:
                plain.setdefault(str(pid), {})[name] = value
    return tensors, {"param_groups": state["param_groups"], "plain": plain}


def save_resume(
    out_dir: Path,
    model: torch.nn.Module,
    updater: Any,
    book: dict[str, Any],
) -> None:
    """Save the resume state of a run at an evaluation (``book`` is the loop's bookkeeping)."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    optim_meta = None
    optimizer = getattr(updater, "optimizer", None)
    if optimizer is not None:
        opt_tensors, optim_meta = _optimizer_tensors(optimizer)
        tensors.update(opt_tensors)
    generator = getattr(updater, "generator", None)
    if generator is not None:
        tensors["generator"] = generator.get_state()
    io.atomic_write_bytes(out_dir / STATE_FILE, save(tensors))
    io.write_json(out_dir / BOOK_FILE, {**book, "optimizer": optim_meta})


BOOK_KEYS = ("update", "wall_s", "rows", "totals", "reached_at", "post_done", "checkpoints")
"""What ``resume.json`` must hold for the loop to continue from it."""


def _usable(book: Any, tensors: dict[str, torch.Tensor], model: torch.nn.Module) -> bool:
    """The bookkeeping has every key the loop reads and the saved weights fit ``model``."""
    if not isinstance(book, dict) or any(k not in book for k in BOOK_KEYS):
        return False
    if not (isinstance(book["update"], int) and isinstance(book["rows"], list)):
        return False
    if not (isinstance(book["totals"], dict) and isinstance(book["checkpoints"], list)):
        return False
    expected = model.state_dict()
    saved = {k.removeprefix("model."): v for k, v in tensors.items() if k[:6] == "model."}
    return set(saved) == set(expected) and all(
        saved[k].shape == expected[k].shape for k in expected
    )


def load_resume(out_dir: Path, model: torch.nn.Module, updater: Any) -> dict[str, Any] | None:
    """Restore model, optimiser and generator from ``out_dir``; the bookkeeping, or None when
    there is no resume state to continue from. State that is unreadable (truncated, garbled)
    or does not fit the run counts as none: the run starts afresh, which gives the same result
    as continuing, only later."""
    book_path, state_path = out_dir / BOOK_FILE, out_dir / STATE_FILE
    if not (book_path.is_file() and state_path.is_file()):
        return None
    try:
        book = io.read_json(book_path)
        tensors = load_file(str(state_path))
    except (OSError, ValueError, json.JSONDecodeError, SafetensorError):
        return None  # unreadable state: start afresh rather than continue from garbage
    if not _usable(book, tensors, model):
        return None
    optimizer = getattr(updater, "optimizer", None)
    generator = getattr(updater, "generator", None)
    before = (
        copy.deepcopy(model.state_dict()),
        copy.deepcopy(optimizer.state_dict()) if optimizer is not None else None,
        generator.get_state() if generator is not None else None,
    )
    try:
        _restore(book, tensors, model, optimizer, generator)
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError):
        # Garbled optimiser or generator state: undo what was restored and start afresh.
        model.load_state_dict(before[0])
        if optimizer is not None:
            optimizer.load_state_dict(before[1])
        if generator is not None:
            generator.set_state(before[2])
        return None
    return book


def _restore(
    book: dict[str, Any],
    tensors: dict[str, torch.Tensor],
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None,
    generator: torch.Generator | None,
) -> None:
    device = next(model.parameters()).device
    model.load_state_dict(
        {k.removeprefix("model."): v.to(device) for k, v in tensors.items() if k[:6] == "model."}
    )
    meta = book.pop("optimizer", None)
    if optimizer is not None and meta is not None:
        state: dict[int, dict[str, Any]] = {}
        for key, value in tensors.items():
            if key.startswith("optim."):
                _, pid, name = key.split(".", 2)
                state.setdefault(int(pid), {})[name] = value.to(device)
        for pid, entries in meta["plain"].items():
            state.setdefault(int(pid), {}).update(entries)
        optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    if generator is not None and "generator" in tensors:
        generator.set_state(tensors["generator"])


def clear_resume(out_dir: Path) -> None:
    """Remove the resume state once the run has finished (its summary is the record)."""
    for name in (BOOK_FILE, STATE_FILE):
        (out_dir / name).unlink(missing_ok=True)
