"""Sweeps end to end: local and Ray executors, resume after kill -9, failures, bad files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from cogdyn import io
from cogdyn.cli import main
from cogdyn.experiments.cell import record_path
from cogdyn.experiments.results import TIMING_COLUMNS, read_results
from cogdyn.experiments.spec import load_sweep
from cogdyn.experiments.sweep import run_sweep
from cogdyn.io import BOOK_FILE, LOCK_FILE, RECORDS_DIR, RUNS_DIR


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=list(TIMING_COLUMNS)).reset_index(drop=True)


def test_local_sweep_writes_one_row_per_cell(tiny_sweep):
    _, out, results = tiny_sweep
    assert list(results["status"]) == ["done"] * 4
    assert sorted(results["algo"]) == ["ppo", "ppo", "sl", "sl"]
    assert (results["frac_qp_untrained"] >= 0).all()
    assert (results["n_checkpoints"] >= 1).all()
    for run_dir in results["run_dir"]:
        assert (out / run_dir / "analysis" / "summary.json").is_file()
    stats = io.read_json(out / "stats.json")
    assert stats["n_done"] == 4
    assert {g["delta"] for g in stats["groups"]} == {0.1, 0.2}
    pd.testing.assert_frame_equal(read_results(out), results)


def test_rerun_skips_finished_cells(tiny_sweep):
    path, out, results = tiny_sweep
    before = {p: p.stat().st_mtime_ns for p in (out / RECORDS_DIR).glob("*.json")}
    again, _ = run_sweep(load_sweep(path), out, workers=2, progress=False)
    after = {p: p.stat().st_mtime_ns for p in (out / RECORDS_DIR).glob("*.json")}
    assert len(after) == 4
    assert before == after
    pd.testing.assert_frame_equal(_comparable(again), _comparable(results))


def test_ray_executor_gives_the_same_table(tiny_sweep, tmp_path, monkeypatch):
    """On a Ray cluster that is already running, reached through RAY_ADDRESS as under `ray job
    submit` (no --address): cogdyn attaches without passing resources (which Ray refuses for
    an existing cluster), writes every cell's log to DIR/logs and gives the local table."""
    pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    path, _, results = tiny_sweep
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2})
    monkeypatch.setenv("RAY_ADDRESS", cluster.address)
    try:
        on_ray, _ = run_sweep(load_sweep(path), tmp_path / "ray", executor="ray", progress=False)
    finally:
        cluster.shutdown()
    pd.testing.assert_frame_equal(_comparable(on_ray), _comparable(results))
    for cell in on_ray["cell"]:
        log = (tmp_path / "ray" / "logs" / f"{cell}.log").read_text()
        assert f"== {cell}: Ray worker pid" in log and f"{cell}: done" in log


def _running_cell(out):
    """A cell in training (resume state saved, no record yet), or None."""
    for run in (out / RUNS_DIR).glob("*"):
        if (run / BOOK_FILE).is_file() and not record_path(out, run.name).is_file():
            return run
    return None


def _wait_for(condition, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_kill_9_then_rerun_gives_the_uninterrupted_table(tiny_sweep, tmp_path):
    path, _, results = tiny_sweep
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "cogdyn.cli", "sweep", str(path), "--out", str(out)]
    proc = subprocess.Popen([*cmd, "--workers", "1", "--no-progress"], stdout=subprocess.DEVNULL)
    try:
        cell = _wait_for(lambda: _running_cell(out))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    time.sleep(0.5)  # the worker gets SIGKILL with its parent (PR_SET_PDEATHSIG)
    assert not record_path(out, cell.name).exists()
    resumed, _ = run_sweep(load_sweep(path), out, workers=2, progress=False)
    pd.testing.assert_frame_equal(_comparable(resumed), _comparable(results))


def test_a_failing_cell_is_recorded_and_the_others_finish(tmp_path):
    from tests.experiments.conftest import write_tiny

    sweep = load_sweep(write_tiny(tmp_path))
    blocked = sweep.cells[1].id
    (tmp_path / "out" / RUNS_DIR).mkdir(parents=True)
    (tmp_path / "out" / RUNS_DIR / blocked).write_text("not a directory")
    results, stats = run_sweep(sweep, tmp_path / "out", workers=2, progress=False)
    failed = results[results["status"] == "failed"]
    assert list(failed["cell"]) == [blocked]
    assert failed["error"].iloc[0]
    assert (results["status"] == "done").sum() == 3
    assert stats["n_failed"] == 1


def test_a_killed_worker_is_recorded_as_failed(tmp_path):
    from tests.experiments.conftest import write_tiny

    sweep = load_sweep(write_tiny(tmp_path, max_updates=40))
    out = tmp_path / "out"
    victims: list[int] = []

    def kill_first_worker():
        run = _running_cell(out)
        if run is None:
            return False
        pid = int((run / LOCK_FILE).read_text())
        os.kill(pid, signal.SIGKILL)
        victims.append(pid)
        return True

    import threading

    killer = threading.Thread(target=lambda: _wait_for(kill_first_worker))
    killer.start()
    results, _ = run_sweep(sweep, out, workers=1, progress=False)
    killer.join()
    failed = results[results["status"] == "failed"]
    assert len(failed) == 1
    assert "killed by signal SIGKILL" in failed["error"].iloc[0]
    assert (results["status"] == "done").sum() == 3


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('[grid]\nalgo = ["sl"]\ndelta = [0.1]\n', "grid.seed"),
        ('[grid]\nalgo = ["sl"]\ndelta = [-1]\nseed = [0]\n', "model.delta"),
        ('[grid]\nalgo = ["rl"]\ndelta = [0.1]\nseed = [0]\n', "train.algo"),
        ('[grid]\nalgo = ["sl"]\ndelta = [0.1]\nseed = [0]\nwidth = [1]\n', "grid.width"),
        ('[grid]\nalgo = ["sl"]\ndelta = [0.1]\nseed = [0]\n[analysis.census]\ngrid = 4\n', "grid"),
        ('[grid]\nalgo = ["sl"]\ndelta = [0.1]\nseed = [0]\n[model]\ndelta = 0.1\n', "model.delta"),
        ('[grid]\nalgo = ["sl"]\ndelta = [0.1]\nseed = [0, 0]\n', "grid.seed"),
        ("[grid\n", "sweep: "),
    ],
)
def test_bad_sweep_file_exits_2_with_one_line(tmp_path, capsys, text, field):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert field in err
    assert not (tmp_path / "out").exists()


def test_results_command_formats(tiny_sweep, capsys):
    _, out, results = tiny_sweep
    assert main(["results", str(out), "--format", "csv"]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].startswith("cell,algo,delta,seed")
    assert len(text.splitlines()) == 1 + len(results)
    assert main(["results", str(out)]) == 0
    assert "frac_qp" in capsys.readouterr().out


def test_the_report_builds_from_a_real_sweep(tiny_sweep, tmp_path, capsys):
    import re

    from cogdyn.report.build import SECTIONS

    _, out, _ = tiny_sweep
    html = tmp_path / "report.html"
    assert main(["report", str(out), "--out", str(html)]) == 0
    page = html.read_text(encoding="utf-8")
    assert re.findall(r'<section id="([^"]+)"', page) == [s for s, _ in SECTIONS]
    assert page.count('src="data:image/png;base64,') >= 5
    # The similarity figure appears once `cogdyn similarity` has run.
    assert '<img src="data:image/png;base64,' not in page.split("dynamical similarity")[0][-300:]
    assert main(["similarity", str(out)]) == 0
    assert main(["report", str(out), "--out", str(html)]) == 0
    assert 'alt="dynamical similarity between networks"' in html.read_text(encoding="utf-8")
    # The two networks the report shows got their figure data, the others were spared it.
    with_data = [r.name for r in (out / RUNS_DIR).iterdir() if (r / "analysis/figdata").is_dir()]
    assert sorted(name.split("-")[0] for name in with_data) == ["ppo", "sl"]


def test_a_cell_whose_analysis_cannot_run_is_refused_before_training(tmp_path, capsys):
    """The census of a neurogym task freezes its stimulus period only: a sweep that asks for a
    delay-input census of one exits 2 with one line naming the cell, and trains nothing."""
    path = tmp_path / "bad.toml"
    path.write_text(
        'name = "bad"\n[grid]\nalgo = ["sl"]\ndelta = [0.1]\nseed = [0]\n'
        '[task]\nname = "neurogym:PerceptualDecisionMaking-v0"\n'
        '[analysis.census]\nphase = "delay"\n'
    )
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "analysis.census.phase" in err[0] and "cell sl-d0.1-s0" in err[0]
    assert not (out / "runs").exists()


def test_a_diverged_cell_is_recorded_with_its_reason(tmp_path):
    """Training that blows up fails its cell (stage train, the reason in one line) and says so
    in the cell's run directory too; the table shows it."""
    from cogdyn.experiments.cell import run_cell, run_dir
    from cogdyn.experiments.results import write_results
    from tests.experiments.conftest import TINY

    text = TINY.replace("MAX_UPDATES", "4").replace("delta = [0.1, 0.2]", "delta = [1e308]")
    (tmp_path / "diverge.toml").write_text(text.replace('algo = ["sl", "ppo"]', 'algo = ["sl"]'))
    sweep = load_sweep(tmp_path / "diverge.toml")
    out, cell = tmp_path / "out", sweep.cells[0].id
    record = run_cell(out, sweep, cell)
    assert record["status"] == "failed" and record["stage"] == "train"
    assert record["error"].startswith("training diverged: non-finite loss at update 1")
    assert "\n" not in record["error"] and record["log"] == f"logs/{cell}.log"
    failure = io.read_json(run_dir(out, cell) / io.FAILURE_FILE)
    assert failure["status"] == "failed" and "non-finite loss" in failure["error"]
    row = write_results(out, sweep).iloc[0]
    assert row["status"] == "failed" and "training diverged" in row["error"]


class _FakeRay:
    """Records ray.init calls; refuses resources when a cluster "is running", as Ray does."""

    def __init__(self, running: bool) -> None:
        self.running, self.calls = running, []

    def is_initialized(self) -> bool:
        return False

    def init(self, **kwargs):
        self.calls.append(kwargs)
        if self.running and kwargs.get("address") is None and kwargs.get("num_cpus"):
            raise ValueError(
                "When connecting to an existing cluster, num_cpus and num_gpus must not be "
                "provided."
            )


@pytest.mark.parametrize(
    ("address", "env", "running", "expected"),
    [
        (None, None, False, [{"num_cpus": 4}]),  # nothing running: a local Ray of our own
        (None, None, True, [{"num_cpus": 4}, {}]),  # `ray start` left one: attach, no resources
        ("auto", None, True, [{"address": "auto"}]),
        (None, "10.0.0.1:6379", True, [{"address": "10.0.0.1:6379"}]),  # ray job submit
    ],
)
def test_which_ray_cluster(monkeypatch, address, env, running, expected):
    from cogdyn.experiments.executors import RayExecutor

    if env is None:
        monkeypatch.delenv("RAY_ADDRESS", raising=False)
    else:
        monkeypatch.setenv("RAY_ADDRESS", env)
    ray = _FakeRay(running)
    assert RayExecutor(address, workers=2)._init(ray, threads=2)
    calls = [{k: v for k, v in c.items() if k in ("address", "num_cpus")} for c in ray.calls]
    assert calls == expected


@pytest.mark.parametrize("name", ["quick", "paper", "neurogym-pdm"])
def test_every_preset_passes_the_strict_checks(name, capsys):
    """Presets are sweep files: unknown tables and keys, the memory of every cell's training and
    census, the [ppo] table of SL cells — all checked, and the shipped ones pass."""
    from cogdyn.experiments.spec import PRESETS

    assert name in PRESETS
    assert main(["sweep", name, "--dry-run"]) == 0
    assert "valid; nothing run" in capsys.readouterr().out


def test_a_preset_with_an_unknown_key_is_refused(tmp_path, capsys):
    """A preset copied to start one's own sweep, with a typo, fails like any sweep file."""
    from cogdyn.experiments.spec import preset_path

    text = preset_path("quick").read_text().replace("[analysis.census]", "[analysis.censsu]")
    (tmp_path / "mine.toml").write_text(text)
    assert main(["sweep", str(tmp_path / "mine.toml"), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert "analysis.censsu: unknown field" in err and "did you mean 'census'" in err


def test_cost_line_says_the_cost_before_running(tmp_path) -> None:
    from cogdyn.experiments.sweep import cost_line
    from tests.experiments.conftest import write_tiny

    sweep = load_sweep(write_tiny(tmp_path))
    ids = [c.id for c in sweep.cells]  # sl-0.1, sl-0.2, ppo-0.1, ppo-0.2 (grid order)
    out = tmp_path / "out"
    # Nothing has run: the census bound of one checkpoint, calibrated on an untrained network.
    line = cost_line(out, sweep, ids, 2)
    assert line.startswith("4 of 4 cells to run, 2 at a time;")
    assert "18 orbits × 200 steps" in line  # 2 contexts × 3² grid points, 100 + 100 steps
    assert "at most 8 updates" in line
    # One done cell per paradigm: the rest is priced by their medians, spread over the workers.
    for cell_id, train_s, analysis_s in ((ids[0], 60.0, 60.0), (ids[2], 200.0, 40.0)):
        path = record_path(out, cell_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {"cell": cell_id, "params": sweep.cell(cell_id).params, "status": "done"}
        record.update(train_s=train_s, analysis_s=analysis_s)  # as run_cell writes it
        path.write_text(json.dumps(record))
    line = cost_line(out, sweep, [ids[1], ids[3]], 2)
    # (120 s + 240 s) / 2 workers = 3 min
    assert line == (
        "2 of 4 cells to run, 2 at a time: about 3 min (median per done cell: ppo 240 s, sl 120 s)"
    )
