"""The study's view of a run directory: CtxDM conditions, the attractor census, phase fixed
points, populations, checkpoint selection and figure data, over a run's checkpoints, written to
``RUN_DIR/analysis/``."""

from cogdyn.analysis.checkpoints import CHECKPOINT_SETS, POST_KINDS, Checkpoint, select_checkpoints
from cogdyn.analysis.run import analyze_run
from cogdyn.analysis.summary import run_summary

__all__ = [
    "CHECKPOINT_SETS",
    "POST_KINDS",
    "Checkpoint",
    "analyze_run",
    "run_summary",
    "select_checkpoints",
]
