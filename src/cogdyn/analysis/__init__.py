"""Run-level analysis: the attractor census and the delay/decision fixed points of a run
directory, over its checkpoints, written to ``RUN_DIR/analysis/``."""

from cogdyn.analysis.run import (
    ANALYSIS_DIR,
    CHECKPOINT_SETS,
    Checkpoint,
    analyze_run,
    select_checkpoints,
)
from cogdyn.analysis.summary import POST_KINDS, run_summary

__all__ = [
    "ANALYSIS_DIR",
    "CHECKPOINT_SETS",
    "POST_KINDS",
    "Checkpoint",
    "analyze_run",
    "run_summary",
    "select_checkpoints",
]
