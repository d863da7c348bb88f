"""The tutorial (docs/tutorial.py, a jupytext percent script) runs and computes real results."""

from __future__ import annotations

import runpy
import time
from pathlib import Path

import pytest

from cogdyn.analysis.census import CENSUS_COLUMNS
from cogdyn.dynamics.classify import LABELS

TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial.py"
GRID, CONTEXTS = 5, 2


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory):
    """Run the tutorial once as a script; its namespace, output folder and run time."""
    import torch

    out = tmp_path_factory.mktemp("tutorial")
    threads = torch.get_num_threads()
    mp = pytest.MonkeyPatch()
    mp.setenv("COGDYN_TUTORIAL_OUT", str(out))
    started = time.perf_counter()
    try:
        namespace = runpy.run_path(str(TUTORIAL), run_name="__main__")
    finally:
        mp.undo()
        torch.set_num_threads(threads)
    import matplotlib.pyplot as plt

    plt.close("all")
    return namespace, out, time.perf_counter() - started


def test_both_networks_learn_beyond_chance(tutorial) -> None:
    """Random actions score ≈ 0 (fixation breaks) and guessing after fixating ½: the tiny budgets
    must get both paradigms clearly past guessing, on 1000 fresh trials."""
    ns, _, _ = tutorial
    assert ns["sl_accuracy"] > 0.6, ns["sl_accuracy"]
    assert ns["rl_accuracy"] > 0.6, ns["rl_accuracy"]
    assert ns["sl_summary"]["algo"] == "sl" and ns["rl_summary"]["algo"] == "ppo"


def test_census_tables_have_the_expected_grid(tutorial) -> None:
    ns, _, _ = tutorial
    tables = {**ns["census"], **ns["example_census"]}
    assert set(tables) == {"SL", "RL", "sl-small", "rl-small"}
    for name, table in tables.items():
        assert list(table.columns) == list(CENSUS_COLUMNS), name
        assert len(table) == GRID * GRID * CONTEXTS, name
        assert set(table["label"].astype(str)) <= set(LABELS), name
        assert sorted(table["context"].unique()) == [0, 1]
        assert sorted(table["coh_mod1"].unique()) == [-50.0, -25.0, 0.0, 25.0, 50.0]
        assert (table["start"] == 0).all()


def test_figures_are_written(tutorial) -> None:
    _, out, _ = tutorial
    for name in ("trial.png", "attractor_maps_tiny.png", "attractor_maps_examples.png"):
        path = out / name
        assert path.is_file() and path.stat().st_size > 10_000, name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_tutorial_is_quick(tutorial) -> None:
    """The docs promise under a minute on one core; allow slack for a busy CI machine."""
    _, _, seconds = tutorial
    assert seconds < 180, f"the tutorial took {seconds:.0f} s"


def test_tutorial_is_a_jupytext_percent_script() -> None:
    text = TUTORIAL.read_text()
    assert text.startswith("# ---\n# jupyter:")
    assert "formats: py:percent" in text
    assert text.count("# %% [markdown]") >= 8
    try:
        import jupytext
    except ImportError:
        return
    notebook = jupytext.reads(text, fmt="py:percent")
    kinds = {cell.cell_type for cell in notebook.cells}
    assert kinds == {"markdown", "code"}


def test_tutorial_uses_the_python_api(tutorial) -> None:
    """The tutorial trains, opens and takes censuses through ``import cogdyn``'s Run objects."""
    import cogdyn

    ns, _, _ = tutorial
    assert isinstance(ns["sl_run"], cogdyn.Run) and isinstance(ns["rl_run"], cogdyn.Run)
    assert ns["sl_run"].summary == ns["sl_summary"]
    assert len(ns["sl_run"].metrics) == ns["sl_summary"]["updates"] // 250
    assert "cogdyn.train(" in TUTORIAL.read_text() and "cogdyn.load_run(" in TUTORIAL.read_text()
