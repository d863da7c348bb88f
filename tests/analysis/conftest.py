"""The analysis tests run whole censuses and population analyses: all of them on one thread."""

import pytest


@pytest.fixture(autouse=True)
def _analysis_on_one_thread(one_thread):
    yield
