"""Fixtures shared by the whole test suite."""

import csv

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
