"""`cogdyn analyze` and `cogdyn report` on run and sweep directories whose files are truncated or
garbled, one file at a time, every file the directory holds: never a traceback (exit 0, or 1/2
with one line), and nothing written over good files — the files a command reads are never
touched, and a command that fails leaves every file as it was.

The directories are copies of the committed fixture ``tests/fixtures/sweep-v1`` (a sweep that
cogdyn wrote: one finished and analysed cell, one interrupted).
"""

from __future__ import annotations

import random
import shutil
import zlib
from pathlib import Path

import pytest

from cogdyn.cli import main

FIXTURE = Path(__file__).parent / "fixtures" / "sweep-v1"
DONE_CELL = "runs/sl-d0.1-s0-r2-c5_15_50"
ANALYZE = ["--grid", "3", "--starts", "0", "--no-populations", "--no-progress", "--threads", "1"]
DAMAGES = ("truncate", "garble")


def damage(path: Path, how: str) -> None:
    """Truncate ``path`` at a random point, or overwrite a few of its bytes with random ones
    (seeded by the file's name: the same damage on every run of the tests)."""
    data = bytearray(path.read_bytes())
    rng = random.Random(zlib.crc32(f"{path.name}:{how}".encode()))
    if how == "truncate" or not data:
        del data[rng.randrange(len(data)) if data else 0 :]
    else:
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    path.write_bytes(bytes(data))


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def analyze_writes(name: str) -> bool:
    return name.startswith("analysis/")


def report_writes(name: str) -> bool:
    return name == "report.html" or "/analysis/figdata/" in name


def check(before: dict[str, bytes], after: dict[str, bytes], writes, rc: int, err: str) -> list:
    """What went wrong with one damaged file (an empty list when nothing did): ``writes`` tells
    the command's outputs, which it may rewrite when it succeeds."""
    problems = []
    lines = err.strip().splitlines()
    if rc not in (0, 1, 2):
        problems.append(f"exit status {rc}")
    if "Traceback" in err or "internal error" in err:
        problems.append(f"traceback or internal error: {err[-300:]}")
    if rc != 0 and not (len(lines) == 1 and lines[0].startswith("cogdyn: error: ")):
        problems.append(f"exit {rc} without one error line: {err[-300:]}")
    for name, data in before.items():
        if (rc != 0 or not writes(name)) and after.get(name) != data:
            problems.append(f"{name} was {'removed' if name not in after else 'rewritten'}")
    if rc != 0:
        problems += [f"{name} was written by a failed command" for name in after.keys() - before]
    return problems


def every_file(root_rel: str) -> list[str]:
    base = FIXTURE / root_rel
    return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())


def _fuzz(tmp_path: Path, root_rel: str, cases, argv, writes, monkeypatch, capsys) -> list[str]:
    """Run ``argv(root)`` on a fresh copy of the fixture for each (file, damage) of ``cases``;
    every problem found, one line each."""
    monkeypatch.setenv("COGDYN_LOG_DIR", str(tmp_path / "crash-logs"))
    problems = []
    for rel, hows in cases:
        for how in hows:
            case = tmp_path / f"{how}-{rel.replace('/', '_')}"
            shutil.copytree(FIXTURE, case)
            root = case / root_rel
            damage(root / rel, how)
            before = snapshot(root)
            rc = main(argv(root))
            err = capsys.readouterr().err
            found = check(before, snapshot(root), writes, rc, err)
            problems += [f"{how} {rel}: {p}" for p in found]
            shutil.rmtree(case)
    assert not (tmp_path / "crash-logs").exists(), "an internal error was logged"
    return problems


def _analyze(root: Path) -> list[str]:
    return ["analyze", str(root), *ANALYZE]


READ_BY_ANALYZE = (
    "config.json",
    "summary.json",
    "model.safetensors",
    "model.json",
    "checkpoints/update_0000000.safetensors",
    "checkpoints/update_0000000.json",
)
"""The files `cogdyn analyze` reads in the fixture's finished run (init checkpoint and final
model: the run never reached its criterion)."""


def test_analyze_on_each_damaged_file_it_reads(tmp_path, monkeypatch, capsys, one_thread):
    cases = [(rel, DAMAGES) for rel in READ_BY_ANALYZE]
    problems = _fuzz(tmp_path, DONE_CELL, cases, _analyze, analyze_writes, monkeypatch, capsys)
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_analyze_on_every_damaged_file_of_a_run(tmp_path, monkeypatch, capsys, one_thread):
    files = every_file(DONE_CELL)
    assert set(READ_BY_ANALYZE) <= set(files) and len(files) >= 20
    cases = [(rel, DAMAGES) for rel in files]
    problems = _fuzz(tmp_path, DONE_CELL, cases, _analyze, analyze_writes, monkeypatch, capsys)
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_report_on_every_damaged_file_of_a_sweep(tmp_path, monkeypatch, capsys, one_thread):
    """Every file of the sweep directory and of its finished run, each damaged one way (the
    ways alternate over the files, to keep the test within the slow job's time; the pending
    cell's directory is not read by the report)."""

    def argv(root: Path) -> list[str]:
        return ["report", str(root)]

    files = [f for f in every_file(".") if not f.startswith("runs/") or f.startswith(DONE_CELL)]
    assert len(files) >= 30
    cases = [(rel, (DAMAGES[i % 2],)) for i, rel in enumerate(files)]
    problems = _fuzz(tmp_path, ".", cases, argv, report_writes, monkeypatch, capsys)
    assert not problems, "\n".join(problems)
