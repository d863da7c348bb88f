"""``cogdyn analyze`` on a tiny trained run: files, tables, summary numbers, one-line errors."""

from __future__ import annotations

import contextlib
import io
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from cogdyn.analysis import analyze_run, run_summary
from cogdyn.analysis.census import CENSUS_COLUMNS, CensusOptions
from cogdyn.analysis.checkpoints import select_checkpoints
from cogdyn.cli import main
from cogdyn.dynamics.classify import LABELS
from cogdyn.errors import ConfigError

TINY = ["--hidden", "16", "--max-updates", "6", "--threads", "1", "--no-progress"]
GRID = 3


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    """A tiny trained run, analysed with ``--grid 3``; (run dir, exit code, printed output)."""
    run = tmp_path_factory.mktemp("analyze") / "run"
    assert main(["train", "--algo", "sl", "--delta", "0.2", "--out", str(run), *TINY]) == 0
    # The tiny network is below the criterion: --min-accuracy 0 lets its checkpoints into the
    # headline numbers, so they can be checked against the tables.
    argv = ["analyze", str(run), "--grid", str(GRID), "--threads", "1", "--no-progress"]
    argv += ["--min-accuracy", "0"]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(argv)
    return run, code, printed.getvalue()


def test_analyze_writes_tables_and_summary(analysed) -> None:
    run, code, printed = analysed
    assert code == 0
    out = run / "analysis"
    for name in ("attractors", "fixed_points", "basins"):
        frame = pd.read_parquet(out / f"{name}.parquet")
        assert not frame.isna().any().any(), name
        assert list(frame.columns[:4]) == ["checkpoint", "kind", "update", "accuracy"]
        # Never reached the criterion: the untrained network and the final model.
        assert set(frame["kind"].astype(str)) == {"init", "final"}
    att = pd.read_parquet(out / "attractors.parquet")
    assert list(att.columns[4:]) == list(CENSUS_COLUMNS)
    assert len(att) == 2 * 2 * GRID * GRID * 3  # checkpoints × contexts × c₁ × c₂ × starts
    assert set(att["label"].astype(str)) <= set(LABELS)
    assert sorted(att["coh_mod1"].unique()) == [-50.0, 0.0, 50.0]

    s = json.loads((out / "summary.json").read_text())
    train = json.loads((run / "summary.json").read_text())
    # The cost said before the census: every orbit of one checkpoint, the whole window.
    cost = s["census_cost"]
    assert cost["orbits"] == 2 * GRID * GRID * 3 and cost["steps"] == 2000 + 2000
    assert cost["seconds_per_step"] > 0
    assert cost["seconds_max_per_checkpoint"] == pytest.approx(
        cost["seconds_per_step"] * cost["steps"], abs=0.06
    )
    assert s["accuracy"] == train["accuracy"] and s["headline_over"] == "final"
    for key in (
        "frac_qp",
        "frac_qp_bounded",
        "frac_qp_untrained",
        "frac_qp_by_context",
        "frac_qp_by_abs_coherence",
        "frac_multistable",
        "label_counts_mean",
        "n_stable_fp_decision",
        "stable_fp_choices",
        "basin_choice_agreement",
        "grid",
        "options",
        "checkpoints",
        "files",
    ):
        assert key in s, key
    assert s["options"]["census"]["grid"] == GRID and s["options"]["checkpoints"] == "post"
    assert s["grid"]["n_grid_points"] == 2 * GRID * GRID and s["grid"]["n_starts"] == 3
    # F_QP against the table, per checkpoint (grid points = start 0 rows).
    onset = att[att["start"] == 0]
    qp = (onset["label"] == "quasi_periodic").groupby(onset["checkpoint"]).mean()
    assert s["frac_qp_untrained"] == pytest.approx(qp["update_0000000"])
    assert s["frac_qp_final"] == pytest.approx(qp["final"])
    assert s["frac_qp"]["mean"] == pytest.approx(qp["final"]) and s["frac_qp"]["n"] == 1
    counts = onset[onset["checkpoint"] == "final"]["label"].astype(str).value_counts()
    assert s["label_counts_final"] == {k: int(counts.get(k, 0)) for k in LABELS}

    fp = pd.read_parquet(out / "fixed_points.parquet")
    assert {"phase", "context", "norm", "n_active", "max_abs_eig", "stability"} <= set(fp)
    assert {"readout", "held_choice", "basin_share"} <= set(fp)
    final_dec = fp[(fp["checkpoint"] == "final") & (fp["phase"] == "decision")]
    assert s["n_stable_fp_decision"] == int((final_dec["stability"] == "stable").sum())
    basins = pd.read_parquet(out / "basins.parquet")
    assert set(basins["phase"].astype(str)) == {"delay", "decision"}
    per = basins.groupby(["checkpoint", "phase"], observed=True)["n_trials"].sum()
    assert (per == 500).all()

    # The printed headline names the numbers and the files.
    assert "F_QP" in printed and str(out / "summary.json") in printed


POPULATION_TABLES = ("populations", "robustness", "information", "crystallisation")


def test_analyze_writes_population_tables_and_headlines(analysed) -> None:
    run = analysed[0]
    out = run / "analysis"
    for name in POPULATION_TABLES:
        frame = pd.read_parquet(out / f"{name}.parquet")
        assert not frame.isna().any().any(), name
        assert list(frame.columns[:4]) == ["checkpoint", "kind", "update", "accuracy"]
        assert set(frame["kind"].astype(str)) <= {"init", "final"}, name
    units = pd.read_parquet(out / "populations.parquet")
    assert len(units) == 2 * 16  # checkpoints × units
    assert set(units["group"]) <= {"G+", "G-", "Ga", "Gs"}
    for _, part in units.groupby("checkpoint"):
        assert sorted(part["sort_position"]) == list(range(16))
    info = pd.read_parquet(out / "information.parquet")
    assert set(info["variable"]) == {
        "context", "correct_choice", "coh_mod1", "coh_mod2", "network_choice"
    }  # fmt: skip
    assert len(info) == 2 * 4 * 5 * 16  # checkpoints × periods × variables × units
    training = pd.read_parquet(out / "crystallisation_training.parquet")
    assert training["checkpoint"].tolist() == ["update_0000000", "final"]
    assert training["turnover"].isna().tolist() == [True, False]

    s = json.loads((out / "summary.json").read_text())
    json.dumps(s, allow_nan=False)
    for key in (
        "balance_index",
        "group_sizes",
        "robustness",
        "selective_fraction",
        "fc_density",
        "fc_modularity",
        "crystallisation_step",
        "group_turnover",
        "attractor_phase",
    ):
        assert key in s, key
    assert s["balance_index"]["n"] == 1 and 0 <= s["balance_index"]["mean"] <= 1
    assert sum(s["group_sizes"].values()) == 16
    assert set(s["robustness"]) >= {"ablate_random", "weight_noise", "state_noise"}
    assert s["group_turnover"]["n"] == 0  # one headline checkpoint: no pair
    final = s["checkpoints"][-1]["populations"]
    assert final["turnover"] is not None and s["checkpoints"][0]["populations"]["turnover"] is None
    assert s["attractor_phase"] in ("decision", "delay", "trial_mean")
    assert s["options"]["populations"]["n_shuffles"] == 100
    for name in (*POPULATION_TABLES, "crystallisation_training"):
        assert name in s["files"]


def test_analyze_without_populations(analysed, tmp_path) -> None:
    run = tmp_path / "run"
    shutil.copytree(analysed[0], run, ignore=shutil.ignore_patterns("analysis"))
    grid = CensusOptions(grid=3, extra_starts=0)
    s = analyze_run(run, checkpoints="final", census=grid, populations=False, progress=False)
    assert "balance_index" not in s and s["options"]["populations"] is None
    assert sorted(p.name for p in (run / "analysis").iterdir()) == [
        "attractors.parquet", "basins.parquet", "fixed_points.parquet", "summary.json"
    ]  # fmt: skip
    with pytest.raises(ConfigError, match=r"analyze\.population_options"):
        analyze_run(run, checkpoints="final", census=grid, population_options={"fdr": 0.1})


def test_analyze_final_only_other_phase(analysed, tmp_path) -> None:
    run = tmp_path / "run"  # a copy: the shared run's analysis stays as the fixture left it
    shutil.copytree(analysed[0], run, ignore=shutil.ignore_patterns("analysis"))
    argv = ["analyze", str(run), "--grid", "3", "--phase", "decision", "--starts", "0"]
    assert main([*argv, "--checkpoints", "final", "--no-progress"]) == 0
    s = json.loads((run / "analysis" / "summary.json").read_text())
    assert [r["kind"] for r in s["checkpoints"]] == ["final"]
    assert s["frac_qp_untrained"] is None and s["frac_multistable"] is None
    att = pd.read_parquet(run / "analysis" / "attractors.parquet")
    assert set(att["phase"].astype(str)) == {"decision"} and set(att["start"]) == {0}


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--grid", "1"], "--grid: must be an odd integer ≥ 3"),
        (["--grid", "4"], "--grid: must be an odd integer ≥ 3"),
        (["--grid", "x"], "--grid"),
        (["--starts", "-1"], "--starts"),
        (["--phase", "fixation"], "--phase"),
        (["--checkpoints", "some"], "--checkpoints"),
        (["--threads", "0"], "--threads"),
    ],
)
def test_bad_flags_are_one_line_exit_2(analysed, capsys, extra, needle) -> None:
    run = analysed[0]
    assert main(["analyze", str(run), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err and "Traceback" not in err


def test_missing_run_is_one_line(tmp_path, capsys) -> None:
    assert main(["analyze", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert "not a run directory" in err and "\n" not in err


# ---------------------------------------------------------------------- library pieces
FAKE = {
    "updates": 300,
    "accuracy": 0.96,
    "checkpoints": [
        {"file": "checkpoints/update_0000000.safetensors", "kind": "init", "update": 0,
         "accuracy": 0.0},
        {"file": "checkpoints/update_0000010.safetensors", "kind": "log", "update": 10,
         "accuracy": 0.4},
        {"file": "checkpoints/update_0000100.safetensors", "kind": "criterion", "update": 100,
         "accuracy": 0.95},
        {"file": "checkpoints/update_0000200.safetensors", "kind": "post_criterion",
         "update": 200, "accuracy": 0.97},
    ],
}  # fmt: skip


def test_select_checkpoints() -> None:
    kinds = {w: [c.kind for c in select_checkpoints(FAKE, w)] for w in ("post", "final", "all")}
    assert kinds["post"] == ["init", "criterion", "post_criterion", "final"]
    assert kinds["final"] == ["final"]
    assert kinds["all"] == ["init", "log", "criterion", "post_criterion", "final"]
    assert select_checkpoints(FAKE, "post")[1].name == "update_0000100"


def _record(kind: str, frac_qp: float, bounded: float | None, per_choice: bool) -> dict:
    counts = dict.fromkeys(LABELS, 0)
    counts["quasi_periodic"] = round(frac_qp * 10)
    return {
        "checkpoint": kind,
        "kind": kind,
        "update": 0,
        "accuracy": 0.9,
        "census": {
            "n_grid_points": 10,
            "frac_qp": frac_qp,
            "frac_qp_bounded": bounded,
            "frac_qp_by_context": {"0": frac_qp, "1": frac_qp},
            "frac_qp_by_abs_coherence": {"0": frac_qp},
            "frac_divergent": 0.0,
            "frac_multistable": 0.1,
            "label_counts": counts,
        },
        "fixed_points": {
            "decision": {
                "n_stable": 2,
                "stable_choices": {"0": [1, 2]},
                "stable_per_choice": per_choice,
                "basin_choice_agreement": 0.9,
            }
        },
    }


def test_run_summary_statistics_over_post_criterion_checkpoints() -> None:
    records = [
        _record("init", 0.5, 0.5, False),
        _record("criterion", 0.2, 0.4, True),
        _record("post_criterion", 0.4, None, False),
        _record("final", 0.4, None, False),
    ]
    s = run_summary(records, FAKE, CensusOptions(grid=3))
    fq = s["frac_qp"]
    assert fq["n"] == 2 and fq["mean"] == pytest.approx(0.3) and fq["std"] == pytest.approx(0.1)
    assert (fq["min"], fq["max"]) == (0.2, 0.4)
    assert [p["kind"] for p in fq["per_checkpoint"]] == ["criterion", "post_criterion"]
    assert s["frac_qp_bounded"]["n"] == 1 and s["frac_qp_bounded"]["mean"] == 0.4
    assert s["frac_qp_untrained"] == 0.5 and s["frac_qp_final"] == 0.4
    assert s["label_counts_mean"]["quasi_periodic"] == 3.0
    assert s["frac_checkpoints_stable_fp_per_choice"] == {"decision": 0.5}
    assert s["headline_over"] == "post_criterion"
    json.dumps(s, allow_nan=False)  # JSON-ready, no NaN
    assert np.isfinite(s["frac_divergent"])


def _with_populations(record: dict, balance: float, step: int | None, turnover) -> dict:
    record["populations"] = {
        "attractor_phase": "delay",
        "balance_index": balance,
        "group_sizes": {"G+": 2, "G-": 2, "Ga": 1, "Gs": 5},
        "group_weights": {"G+": {"G+": 0.1, "G-": None}},
        "robustness": {"ablate_random": 0.5, "weight_noise": 0.8},
        "selective_fraction": {"context": 0.5},
        "fc": {"density": 0.2, "modularity": None, "degree_mean": 3.0},
        "crystallisation_step": step,
        "crystallisation_ms": None if step is None else 100.0 * step,
        "decoder_max_accuracy": 0.9,
        "turnover": turnover,
    }
    return record


def test_run_summary_population_headlines() -> None:
    records = [
        _with_populations(_record("init", 0.5, 0.5, False), 0.2, None, None),
        _with_populations(_record("criterion", 0.2, 0.4, True), 0.6, 3, 0.9),
        _with_populations(_record("post_criterion", 0.4, None, False), 1.0, None, 0.1),
        _with_populations(_record("final", 0.4, None, False), 1.0, None, 0.0),
    ]
    s = run_summary(records, FAKE, CensusOptions(grid=3))
    assert s["balance_index"]["mean"] == pytest.approx(0.8) and s["balance_index"]["n"] == 2
    assert s["balance_index"]["untrained"] == 0.2 and s["balance_index"]["final"] == 1.0
    assert s["crystallisation_step"] == {"mean": 3.0, "std": 0.0, "min": 3.0, "max": 3.0, "n": 1}
    assert s["fc_modularity"]["n"] == 0 and s["fc_modularity"]["mean"] is None
    # Turnover between consecutive headline checkpoints: only the post-criterion one's.
    assert s["group_turnover"]["n"] == 1 and s["group_turnover"]["mean"] == 0.1
    assert s["group_sizes"]["Gs"] == 5.0 and s["robustness"]["weight_noise"] == 0.8
    assert s["attractor_phases"] == {"delay": 2}
    json.dumps(s, allow_nan=False)


def test_checkpoints_below_min_accuracy_are_analysed_but_excluded(analysed, tmp_path) -> None:
    """The tiny network is far below the criterion: with the default min_accuracy every
    candidate checkpoint is analysed and kept in the tables, but none enters a headline number;
    with a threshold at its own fresh-trial accuracy it enters again."""
    import shutil

    from cogdyn.analysis import analyze_run
    from cogdyn.analysis.census import CensusOptions

    run = tmp_path / "run"
    shutil.copytree(analysed[0], run, ignore=shutil.ignore_patterns("analysis"))
    census = CensusOptions(grid=3, extra_starts=0)
    s = analyze_run(run, census=census, n_trials=50, progress=False, populations=False)
    assert s["min_accuracy"] == 0.93 and s["headline_checkpoints"] == []
    assert s["n_checkpoints_excluded"] == 1 and s["frac_qp"]["n"] == 0
    assert s["frac_qp"]["mean"] is None and s["analysed_accuracy_min"] is None
    (ex,) = s["excluded_checkpoints"]
    assert ex["checkpoint"] == "final" and ex["analysed_accuracy"] < 0.93
    att = pd.read_parquet(run / "analysis" / "attractors.parquet")
    assert "final" in set(att["checkpoint"])  # analysed all the same
    again = analyze_run(
        run,
        census=census,
        n_trials=50,
        progress=False,
        populations=False,
        min_accuracy=ex["analysed_accuracy"],
    )
    assert again["headline_checkpoints"] == ["final"]
    assert again["analysed_accuracy_min"] == pytest.approx(ex["analysed_accuracy"])
    assert again["frac_qp"]["n"] == 1
