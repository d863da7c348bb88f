"""Fixtures shared by the whole test suite, and the rule that CI runs every optional extra."""

import csv
import os

import pytest
import torch


@pytest.fixture
def one_thread():
    """Run a test on one torch thread and restore the count afterwards.

    Many tests do many tiny tensor ops; on a busy 2-core machine extra intra-op threads only
    contend (a 4×20 @ 20×20 product took 5 ms on 2 threads under load against 3 µs on one)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def read_metrics():
    """Rows of a run's metrics.csv without the wall-clock column, for determinism checks."""

    def read(path):
        with open(path) as fh:
            rows = list(csv.DictReader(fh))
        for row in rows:
            row.pop("wall_s")
        return rows

    return read


# ---------------------------------------------------------------------- optional extras
REQUIRE_EXTRAS = os.environ.get("COGDYN_REQUIRE_EXTRAS") == "1"
"""CI sets ``COGDYN_REQUIRE_EXTRAS=1`` (``.ci/run``) after installing every extra the tests use
(the ``test`` extra in pyproject.toml): there, a test skipped by ``pytest.importorskip`` for a
missing package is a failure, so every extra's path is tested."""


def _missing_extra(report: pytest.CollectReport | pytest.TestReport) -> str | None:
    """The skip reason of an ``importorskip`` for a missing package, else None."""
    if not report.skipped:
        return None
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    return reason if "could not import" in reason else None


def _fail_missing_extra(report: pytest.CollectReport | pytest.TestReport) -> None:
    reason = _missing_extra(report)
    if REQUIRE_EXTRAS and reason is not None:
        report.outcome = "failed"
        report.longrepr = f"COGDYN_REQUIRE_EXTRAS=1 but an optional extra is missing: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _fail_missing_extra(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _fail_missing_extra(outcome.get_result())
