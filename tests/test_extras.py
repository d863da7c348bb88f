"""CI runs the tests of every optional extra: under COGDYN_REQUIRE_EXTRAS=1 a test that
``pytest.importorskip``s a missing package fails instead of skipping (tests/conftest.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent

PROBE = """
import pytest

def test_needs_a_missing_extra():
    pytest.importorskip("cogdyn_no_such_extra")

def test_plain_skip_stays_a_skip():
    pytest.skip("not about an extra")
"""

MODULE_LEVEL = """
import pytest
pytest.importorskip("cogdyn_no_such_extra")

def test_never_runs():
    pass
"""


def _run(folder: Path, required: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "COGDYN_REQUIRE_EXTRAS"}
    if required:
        env["COGDYN_REQUIRE_EXTRAS"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", str(folder)],
        capture_output=True,
        text=True,
        env=env,
        cwd=folder,
        check=False,
    )


def test_a_missing_extra_fails_only_when_required(tmp_path):
    shutil.copy(TESTS / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_probe.py").write_text(PROBE)
    relaxed = _run(tmp_path, required=False)
    assert relaxed.returncode == 0 and "2 skipped" in relaxed.stdout, relaxed.stdout
    strict = _run(tmp_path, required=True)
    assert strict.returncode == 1, strict.stdout
    assert "1 failed" in strict.stdout and "1 skipped" in strict.stdout, strict.stdout
    assert "an optional extra is missing" in strict.stdout


def test_a_module_level_importorskip_fails_collection_when_required(tmp_path):
    shutil.copy(TESTS / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_module_level.py").write_text(MODULE_LEVEL)
    assert "1 skipped" in _run(tmp_path, required=False).stdout  # (exit 5: no test ran)
    strict = _run(tmp_path, required=True)
    assert strict.returncode != 0 and "an optional extra is missing" in strict.stdout
