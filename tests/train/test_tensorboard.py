"""--tensorboard writes the same numbers as metrics.csv, as TensorBoard scalars."""

from __future__ import annotations

import csv
import sys

import pytest

from cogdyn.cli import main
from cogdyn.config import ConfigError
from cogdyn.train.tensorboard import ScalarLog

pytest.importorskip("tensorboard")


def test_cli_logs_every_evaluation(tmp_path, one_thread):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out, board = tmp_path / "run", tmp_path / "tb"
    args = ["train", "--hidden", "16", "--max-updates", "6", "--eval-every", "2", "--threads", "1"]
    args += ["--out", str(out), "--tensorboard", str(board), "--no-progress"]
    assert main(args) == 0
    with (out / "metrics.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    events = EventAccumulator(str(board))
    events.Reload()
    accuracy = events.Scalars("train/accuracy")
    assert [e.step for e in accuracy] == [int(r["update"]) for r in rows] == [2, 4, 6]
    assert [e.value for e in accuracy] == pytest.approx([float(r["accuracy"]) for r in rows])
    assert "train/loss" in events.Tags()["scalars"]


def test_missing_tensorboard_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    with pytest.raises(ConfigError, match="tensorboard"):
        ScalarLog(tmp_path)
