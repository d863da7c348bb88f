"""Which torch device a stage runs on: ``cpu``, ``cuda`` or ``auto``, resolved once at the edge.

Training (``train.device``) and the attractor census (``cogdyn analyze --device``; a sweep's
cells analyse on their ``train.device``) take the same names. ``cuda`` is the process's
first visible GPU: the sweep executors give each worker its own by ``CUDA_VISIBLE_DEVICES``
(:mod:`cogdyn.experiments.executors`).
"""

from __future__ import annotations

import torch

from cogdyn.errors import ConfigError

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")


def resolve_device(name: str, field: str = "train.device") -> torch.device:
    """``auto`` → CUDA where available, else CPU; ``cuda`` without a GPU is a ConfigError
    naming ``field``, as is a name outside :data:`DEVICES`."""
    if name not in DEVICES:
        raise ConfigError(field, f"must be one of {', '.join(DEVICES)}, got {name!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError(field, "cuda requested but no CUDA device is available")
    return torch.device(name)


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (before reading a clock); nothing on the CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
