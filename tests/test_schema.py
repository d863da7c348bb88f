"""``schema_version`` in every file cogdyn writes, and directories written by an older cogdyn
still read: a later release adds config fields with defaults, and resume, `cogdyn sweep` (the
same sweep, not "a different sweep") and `cogdyn report` accept the old directory.

The old directory is ``tests/fixtures/sweep-v1`` (written by ``make_sweep_v1.py`` with today's
cogdyn, schema_version 1); "a field added later" is simulated by giving TrainConfig and
CensusOptions a new field with a default while the test runs.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from cogdyn import config as config_module
from cogdyn import io
from cogdyn.analysis import census as census_module
from cogdyn.cli import main
from cogdyn.experiments import spec as spec_module
from cogdyn.experiments.results import read_results
from cogdyn.experiments.spec import load_sweep
from cogdyn.experiments.sweep import prepare_dir
from cogdyn.schema import SCHEMA_VERSION

FIXTURE = Path(__file__).parent / "fixtures" / "sweep-v1"
DONE = "sl-d0.1-s0-r2-c5_15_50"
INTERRUPTED = "ppo-d0.1-s0-r2-c5_15_50"
STAMPED = (
    "sweep.json",
    "stats.json",
    f"runs/{DONE}/config.json",
    f"runs/{DONE}/summary.json",
    f"runs/{DONE}/analysis/summary.json",
    f"runs/{INTERRUPTED}/config.json",
)


@pytest.fixture
def old_sweep(tmp_path) -> Path:
    shutil.copytree(FIXTURE, tmp_path / "sweep")
    return tmp_path / "sweep"


@pytest.fixture
def field_added(monkeypatch):
    """A release that added ``train.warmup_updates`` and ``census.settle_steps`` (defaults)."""
    train_cls = dataclasses.make_dataclass(
        "TrainConfig",
        [("warmup_updates", int, dataclasses.field(default=0))],
        bases=(config_module.TrainConfig,),
        frozen=True,
    )
    census_cls = dataclasses.make_dataclass(
        "CensusOptions",
        [("settle_steps", int, dataclasses.field(default=0))],
        bases=(census_module.CensusOptions,),
        frozen=True,
    )
    monkeypatch.setattr(config_module, "TrainConfig", train_cls)
    monkeypatch.setattr(spec_module, "CensusOptions", census_cls)
    # today's writer would now put the new fields in every resolved config
    assert "warmup_updates" in config_module.run_config_from_dict({}).to_json()["train"]


def test_the_fixture_is_what_this_cogdyn_writes(old_sweep):
    for rel in STAMPED:
        assert io.read_json(old_sweep / rel)["schema_version"] == SCHEMA_VERSION, rel
    meta = pq.read_schema(old_sweep / "results.parquet").metadata
    assert meta[b"schema_version"] == str(SCHEMA_VERSION).encode()
    run = old_sweep / "runs" / INTERRUPTED
    assert (run / io.BOOK_FILE).is_file() and not (run / io.SUMMARY_FILE).exists()


def test_a_rerun_of_the_old_sweep_resumes_it_and_stamps_every_file(old_sweep):
    """`cogdyn sweep` on the fixture continues its interrupted cell; every file it then holds
    carries today's schema_version."""
    from cogdyn.experiments.sweep import run_sweep

    results, _ = run_sweep(load_sweep(old_sweep / "sweep.toml"), old_sweep, workers=1)
    assert list(results["status"]) == ["done", "done"]
    for rel in STAMPED:
        assert io.read_json(old_sweep / rel)["schema_version"] == SCHEMA_VERSION, rel
    for rel in ("summary.json", "analysis/summary.json"):
        path = old_sweep / "runs" / INTERRUPTED / rel
        assert io.read_json(path)["schema_version"] == SCHEMA_VERSION
    assert pq.read_schema(old_sweep / "results.parquet").metadata[b"schema_version"] == b"1"


def test_a_rerun_after_a_field_was_added_is_the_same_sweep(old_sweep, field_added):
    """Today's resolved cells hold ``train.warmup_updates`` and the census ``settle_steps``;
    the old sweep.json has neither, and is still the same sweep."""
    sweep = load_sweep(old_sweep / "sweep.toml")
    assert "warmup_updates" in sweep.cells[0].config["train"]
    assert "settle_steps" in sweep.analysis.to_json()["census"]
    old = (old_sweep / "sweep.json").read_text()
    prepare_dir(old_sweep, sweep)  # raised "holds a different sweep" before issue 17
    assert "warmup_updates" in (old_sweep / "sweep.json").read_text() and "warmup" not in old


def test_a_changed_value_is_still_a_different_sweep(old_sweep, field_added):
    sweep = load_sweep(old_sweep / "sweep.toml")
    cell = sweep.cells[0]
    changed = dataclasses.replace(
        sweep,
        cells=(
            dataclasses.replace(
                cell, config={**cell.config, "model": {**cell.config["model"], "hidden": 9}}
            ),
            *sweep.cells[1:],
        ),
    )
    with pytest.raises(config_module.ConfigError, match="holds a different sweep"):
        prepare_dir(old_sweep, changed)


def test_train_resume_of_an_old_run_after_a_field_was_added(
    old_sweep, field_added, one_thread, capsys
):
    run = old_sweep / "runs" / INTERRUPTED
    metrics = (run / io.METRICS_FILE).read_text()
    first = (run / "checkpoints" / "update_0000003.safetensors").read_bytes()
    assert main(["train", "--resume", "--out", str(run), "--no-progress"]) == 0
    summary = io.read_json(run / io.SUMMARY_FILE)
    assert summary["updates"] == 12 and summary["schema_version"] == SCHEMA_VERSION
    # it continued from update 4: what was written before the interruption is kept as it was
    # (columns this cogdyn adds are appended, empty in the old rows)
    import csv

    old_rows = list(csv.DictReader(metrics.splitlines()))
    new_rows = list(csv.DictReader((run / io.METRICS_FILE).read_text().splitlines()))
    assert len(new_rows) > len(old_rows)
    for old, new in zip(old_rows, new_rows, strict=False):
        assert {k: new[k] for k in old} == old
    assert (run / "checkpoints" / "update_0000003.safetensors").read_bytes() == first
    assert "warmup_updates" in io.read_json(run / io.CONFIG_FILE)["train"]


def test_report_of_an_old_sweep_after_a_field_was_added(old_sweep, field_added, capsys):
    assert main(["report", str(old_sweep)]) == 0
    assert (old_sweep / "report.html").is_file()
    assert main(["results", str(old_sweep), "--format", "csv"]) == 0
    assert DONE in capsys.readouterr().out


def test_files_without_schema_version_read_as_version_0(old_sweep, one_thread):
    """A directory from before versioning (no schema_version anywhere) still reads."""
    for rel in STAMPED:
        data = io.read_json(old_sweep / rel)
        data.pop("schema_version")
        (old_sweep / rel).write_text(json.dumps(data))
    table = pq.read_table(old_sweep / "results.parquet")
    pq.write_table(table.replace_schema_metadata({}), old_sweep / "results.parquet")
    assert list(read_results(old_sweep)["cell"]) == [DONE, INTERRUPTED]
    assert io.read_config(old_sweep / "runs" / DONE).model.hidden == 8
    prepare_dir(old_sweep, load_sweep(old_sweep / "sweep.toml"))


@pytest.mark.parametrize("rel", [*STAMPED[:5], "results.parquet"])
def test_a_file_from_a_newer_cogdyn_is_refused_in_one_line(old_sweep, rel, capsys):
    path = old_sweep / rel
    if rel.endswith(".parquet"):
        table = pq.read_table(path)
        meta = {**table.schema.metadata, b"schema_version": b"99"}
        pq.write_table(table.replace_schema_metadata(meta), path)
    else:
        path.write_text(json.dumps({**io.read_json(path), "schema_version": 99}))
    argv = {
        "sweep.json": ["sweep", str(old_sweep / "sweep.toml"), "--out", str(old_sweep)],
        "results.parquet": ["results", str(old_sweep)],
        f"runs/{DONE}/config.json": ["analyze", str(path.parent), "--no-progress"],
        f"runs/{DONE}/summary.json": ["analyze", str(path.parent), "--no-progress"],
    }.get(rel, ["report", str(old_sweep)])
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "written by a newer cogdyn (schema_version 99" in err and "\n" not in err
