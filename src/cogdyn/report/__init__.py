"""The study's report: one self-contained HTML page for a sweep (:func:`build_report`) and the
per-network figures of a run (:func:`plot_run`). The report reads files only; see
``docs/report.md``."""

from cogdyn.report.build import build_report, claims_for
from cogdyn.report.claims import Verdict, evaluate_claims
from cogdyn.report.plot import plot_run

__all__ = [
    "Verdict",
    "build_report",
    "claims_for",
    "evaluate_claims",
    "plot_run",
]
