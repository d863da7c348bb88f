"""``python -m cogdyn.experiments.worker SWEEP_DIR CELL``: run one cell in its own process.

The local executor starts one of these per cell, so a cell that crashes or is killed takes
nothing else with it. Exit status 0 when the cell ran (done or recorded as failed), 3 when
another process holds the cell.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cogdyn import io
from cogdyn.experiments.cell import CellBusy, cell_device, gpu_note, run_cell
from cogdyn.experiments.spec import sweep_from_json
from cogdyn.io import SWEEP_FILE


def main(argv: list[str] | None = None) -> int:
    """Run the cell named on the command line; the exit status says how it went."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m cogdyn.experiments.worker SWEEP_DIR CELL", file=sys.stderr)
        return 2
    sweep_dir, cell_id = Path(args[0]), args[1]
    sweep = sweep_from_json(io.read_json(sweep_dir / SWEEP_FILE))
    note = gpu_note() if cell_device(sweep, cell_id) != "cpu" else ""
    print(f"== {cell_id}: worker pid {os.getpid()}{note}", flush=True)
    try:
        record = run_cell(sweep_dir, sweep, cell_id)
    except CellBusy as e:
        print(e, file=sys.stderr)
        return 3
    print(f"{cell_id}: {record['status']} {record.get('error', '')}".rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
