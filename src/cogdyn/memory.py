"""Memory estimates made before a large allocation, so that an absurd size (``--hidden
100000000``, a census grid of 10⁵) is refused in one line with the estimate, instead of ending in
an allocator traceback or the kernel's OOM killer.

The estimates are lower bounds of what the allocation will take (the tensors that must exist at
once), so a refusal is never a false alarm; they are compared with the machine's memory (the
physical memory, or a smaller cgroup limit), not with what happens to be free.
"""

from __future__ import annotations

import os
from pathlib import Path

from cogdyn.errors import ConfigError

FLOAT32, FLOAT64 = 4, 8
MEMORY_ENV = "COGDYN_MEMORY_BYTES"
"""Environment variable that overrides the machine's memory (bytes), e.g. to test refusals."""


def machine_memory() -> int | None:
    """Bytes of memory this process may use: physical memory, or the cgroup limit when lower;
    ``COGDYN_MEMORY_BYTES`` overrides both. None when it cannot be told."""
    override = os.environ.get(MEMORY_ENV)
    if override:
        try:
            return int(override)
        except ValueError:
            raise ConfigError(MEMORY_ENV, f"must be a number of bytes, got {override!r}") from None
    total: int | None = None
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = None
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            limit = int(text)
            total = limit if total is None else min(total, limit)
    return total


def format_bytes(n: float) -> str:
    """``40.0 PB``, ``1.5 GiB``-style: binary units up to GiB, then decimal TB/PB/EB."""
    if n < 1024**3:
        for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
            if n >= size:
                return f"{n / size:.1f} {unit}"
        return f"{int(n)} B"
    if n < 1e12:
        return f"{n / 1024**3:.1f} GiB"
    for unit, size in (("EB", 1e18), ("PB", 1e15), ("TB", 1e12)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"


def require_memory(
    need: float,
    field_name: str,
    what: str,
    advice: str,
    detail: str = "",
    *,
    total: int | None = None,
    where: str = "this machine's",
) -> None:
    """Raise :class:`ConfigError` naming ``field_name`` when ``need`` bytes exceed ``total``
    (default: the machine's memory): "``field``: ``what`` needs about X (``detail``), more than
    this machine's Y of memory; ``advice``" (``where`` names another memory, e.g. a GPU's)."""
    total = machine_memory() if total is None else total
    if total is None or need <= total:
        return
    parts = f" ({detail})" if detail else ""
    raise ConfigError(
        field_name,
        f"{what} needs about {format_bytes(need)}{parts}, more than {where} "
        f"{format_bytes(total)} of memory; {advice}",
    )


def rnn_parameters(hidden: int, n_inputs: int, n_outputs: int) -> int:
    """Number of parameters of a vanilla RNN with a readout and a value head."""
    return hidden * hidden + hidden * n_inputs + 2 * hidden + (n_outputs + 1) * (hidden + 1)


def trial_bytes(n_trials: int, n_steps: int, width: int, itemsize: int = FLOAT32) -> int:
    """Bytes of ``n_trials`` × ``n_steps`` × ``width`` values (a batch of trials, or the hidden
    states of one)."""
    return n_trials * n_steps * width * itemsize
