"""The dynamics tests iterate many small maps: all of them run on one thread."""

import pytest


@pytest.fixture(autouse=True)
def _dynamics_on_one_thread(one_thread):
    yield
