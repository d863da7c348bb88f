"""DRIADA interop: cogdyn's unit–variable MI against DRIADA's on the same data, with units and
bias correction aligned, and ``cogdyn export --driada`` read by DRIADA's experiment loader.

Skipped only where the ``driada`` extra is missing; CI installs it and sets
``COGDYN_REQUIRE_EXTRAS=1``, which turns that skip into a failure (tests/conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import special

from cogdyn import examples
from cogdyn.analysis.populations import task_variables
from cogdyn.behaviour import evaluate
from cogdyn.cli import main
from cogdyn.interop import DRIADA_VARIABLES, driada_experiment, load_driada
from cogdyn.populations.activity import period_means, trial_states
from cogdyn.populations.information import (
    copula_normal,
    label_codes,
    mi_discrete,
    unit_selectivity,
)

gcmi = pytest.importorskip("driada.information.gcmi")

N_TRIALS = 500


@pytest.fixture(scope="module")
def activity():
    """Per-period mean activity (500 trials × 64 units) and the task variables of the trained
    example network rl-small: the data of cogdyn's information table."""
    config, model = examples.load("rl-small")
    from cogdyn.tasks import CtxDM

    task = CtxDM(config.task)
    batch = task.sample(N_TRIALS, torch.Generator().manual_seed(0))
    with torch.no_grad():
        means = period_means(trial_states(model, batch), batch)
        choice = evaluate(model, task, batch).outcome.choice
    return means, task_variables(batch, choice)


def _ddof_term(codes: np.ndarray, n_classes: int) -> float:
    """DRIADA divides variances by n − 1 (per class n_y − 1), cogdyn by n: in nats its MI is
    cogdyn's + ½ log(n/(n−1)) − Σ_y p(y) ½ log(n_y/(n_y−1))."""
    n = len(codes)
    counts = np.bincount(codes, minlength=n_classes)
    return 0.5 * np.log(n / (n - 1)) - sum(
        (c / n) * 0.5 * np.log(c / (c - 1)) for c in counts if c > 1
    )


def _driada_scores(col: np.ndarray) -> np.ndarray:
    """DRIADA's copula, ctransform (rank / (n + 1)), through the exact inverse normal CDF (its
    JIT copnorm uses a rational approximation, error up to ~2.5e-4)."""
    return special.ndtri(gcmi.ctransform(col[None, :]))


def test_copula_scores_are_driadas(activity):
    means, _ = activity
    x = means["stimulus"]
    rng = np.random.default_rng(0)
    tie_free = [u for u in range(x.shape[1]) if len(np.unique(x[:, u])) == len(x)]
    assert len(tie_free) > 20
    ours = copula_normal(x[:, tie_free], rng)
    exact = np.stack([_driada_scores(x[:, u])[0] for u in tie_free], axis=1)
    np.testing.assert_allclose(ours, exact, rtol=0, atol=1e-12)
    approx = gcmi.copnorm(x[:, tie_free].T).T  # DRIADA's default: same ranks, approximate Φ⁻¹
    assert np.abs(approx - ours).max() < 5e-4
    assert (np.argsort(approx, axis=0) == np.argsort(ours, axis=0)).all()


def test_unit_variable_mi_equals_driadas_without_bias_correction(activity):
    """cogdyn's information table (unit_selectivity, nats, no bias correction) against DRIADA's
    mi_model_gd on DRIADA's copula of the same data, biascorrect=False, converted from bits to
    nats and corrected for the n vs n − 1 variance: equal to 1e-9 for every tie-free unit,
    period and task variable (tied units differ only through the tie-breaking)."""
    means, variables = activity
    table = unit_selectivity(
        means, variables, n_shuffles=1, fdr=0.05, rng=np.random.default_rng(0)
    ).set_index(["period", "variable", "unit"])
    compared, largest = 0, 0.0
    for period, x in means.items():
        for name, values in variables.items():
            codes, k = label_codes(values)
            delta = _ddof_term(codes, k)
            for u in range(x.shape[1]):
                col = x[:, u]
                if len(np.unique(col)) < len(col):
                    continue
                z = _driada_scores(col)
                bits = gcmi.mi_model_gd(z, codes, Ym=k, biascorrect=False, demeaned=True)
                nats = bits * np.log(2)
                ours = float(table.loc[(period, name, u), "mi"])
                assert nats == pytest.approx(max(0.0, ours + delta), abs=1e-9), (period, name, u)
                compared += 1
                largest = max(largest, ours)
    assert compared >= 300 and largest > 0.3  # many tests, some strongly selective units


def test_mi_formula_equals_driadas_on_every_unit(activity):
    """The estimator itself on DRIADA's scores of every unit, tied ones (silent ReLU units)
    included: cogdyn's mi_discrete = DRIADA's mi_model_gd (nats, no bias correction, n vs
    n − 1) to 1e-9."""
    means, variables = activity
    for x in means.values():
        live = [u for u in range(x.shape[1]) if x[:, u].std() > 1e-12]
        scores = np.stack([_driada_scores(x[:, u])[0] for u in live], axis=1)
        for values in variables.values():
            codes, k = label_codes(values)
            ours = mi_discrete(scores, codes, k) + _ddof_term(codes, k)
            for j, _u in enumerate(live):
                bits = gcmi.mi_model_gd(
                    scores[None, :, j], codes, Ym=k, biascorrect=False, demeaned=True
                )
                assert bits * np.log(2) == pytest.approx(max(0.0, ours[j]), abs=1e-9)


def test_driadas_defaults_report_less_information_in_other_units(activity):
    """What the docs say about the defaults: DRIADA's get_1d_mi is in bits and bias-corrected,
    so it reads below cogdyn's nats by the factor ln 2 and the (positive) bias."""
    from driada.information.info_base import TimeSeries, get_1d_mi

    means, variables = activity
    x = means["delay"]
    codes, k = label_codes(variables["network_choice"])
    rng = np.random.default_rng(0)
    ours = mi_discrete(copula_normal(x, rng), codes, k)
    units = [u for u in range(x.shape[1]) if len(np.unique(x[:, u])) == len(x)]
    for u in units[:10]:
        plain_bits = gcmi.mi_model_gd(
            gcmi.copnorm(x[None, :, u]), codes, Ym=k, biascorrect=False, demeaned=True
        )
        default_bits = get_1d_mi(
            TimeSeries(x[:, u], discrete=False), TimeSeries(codes, discrete=True)
        )
        assert default_bits <= plain_bits + 1e-12
        assert default_bits * np.log(2) <= ours[u] + _ddof_term(codes, k) + 1e-9


def test_cli_export_driada_is_read_by_driadas_loader(tmp_path, capsys, one_thread):
    run = examples.copy("rl-small", tmp_path / "run")
    out = tmp_path / "rl.npz"
    assert main(["export", str(run), "--driada", "--trials", "40", "--out", str(out)]) == 0
    assert "DRIADA" in capsys.readouterr().out
    data, meta = load_driada(out)
    n_steps = int(data["step"].shape[0])
    assert data["calcium"].shape == (64, n_steps)
    assert set(DRIADA_VARIABLES) <= set(data) and meta["fps"] == 10.0
    assert data["trial"].min() == 0 and data["trial"].max() == 39
    assert np.all(np.diff(data["trial"]) >= 0)  # trials one after the other
    exp = driada_experiment(out)
    assert exp.n_cells == 64 and exp.n_frames == n_steps
    assert set(DRIADA_VARIABLES) <= set(exp.dynamic_features)
    # the loader keeps the traces (up to its tie-breaking noise)
    trace = np.asarray(exp.neurons[3].ca.data)
    np.testing.assert_allclose(trace, data["calcium"][3], atol=1e-3)
