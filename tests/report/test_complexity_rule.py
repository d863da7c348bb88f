"""Claim 6's complexity part: levels from the sweep's statistics, ordered by how well the ideal
observer does on each (any axis: choices, coherences, noise), compared by |ρ(F_QP, accuracy)|."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cogdyn.experiments.stats import sweep_stats
from cogdyn.report.evidence import Evidence
from cogdyn.report.population_claims import performance_rules


def _table(levels: dict[float, tuple[float, list[float]]]) -> pd.DataFrame:
    """Per σ: (ideal-observer accuracy, the RL networks' F_QP in order of their accuracy)."""
    rows = []
    for sigma, (ideal, fqps) in levels.items():
        for algo in ("ppo", "sl"):
            for seed, fq in enumerate(fqps):
                rows.append(
                    {
                        "cell": f"{algo}-{sigma}-{seed}", "algo": algo, "delta": 0.1,
                        "seed": seed, "dim_ring": 2, "coherences": "5,15,50", "sigma": sigma,
                        "status": "done", "reached_criterion": True,
                        "ideal_observer_accuracy": ideal,
                        "frac_qp": fq if algo == "ppo" else 0.1,
                        "accuracy": 0.95 + 0.01 * seed,
                        "analysed_accuracy": 0.95 + 0.01 * seed,
                        "updates_to_criterion": 100.0,
                    }
                )  # fmt: skip
    return pd.DataFrame(rows)


def _complexity(table: pd.DataFrame) -> tuple[bool | None, str]:
    return performance_rules(Evidence(results=table, stats=sweep_stats(table)))[1]


def test_the_harder_level_is_the_one_the_ideal_observer_does_worse_on() -> None:
    # σ 0.45: F_QP unrelated to accuracy (ρ = 0); σ 0.7: rising with it (ρ = 1).
    flat, rising = [0.3, 0.2, 0.1, 0.2, 0.3], [0.1, 0.2, 0.3, 0.4, 0.5]
    verdict, text = _complexity(_table({0.45: (0.994, flat), 0.7: (0.970, rising)}))
    assert verdict is True
    assert text.index("sigma 0.45") < text.index("sigma 0.7")
    assert "(ideal observer 0.994): ρ = 0;" in text and "(ideal observer 0.970): ρ = 1" in text
    # The same numbers with the ideal observer's ranking reversed: σ 0.45 is now the harder
    # level, the one with ρ = 0, so the correlation does not grow with complexity.
    verdict, text = _complexity(_table({0.45: (0.960, flat), 0.7: (0.990, rising)}))
    assert verdict is False and text.index("sigma 0.7") < text.index("sigma 0.45")


def test_a_correlation_with_lower_accuracy_is_not_a_performance_gain() -> None:
    """F_QP falling with accuracy (ρ = −1) at the harder level is a stronger correlation than
    ρ = 0, but with performance losses: the claim does not hold."""
    flat, falling = [0.3, 0.2, 0.1, 0.2, 0.3], [0.5, 0.4, 0.3, 0.2, 0.1]
    verdict, text = _complexity(_table({0.45: (0.994, flat), 0.7: (0.970, falling)}))
    assert verdict is False and "(ideal observer 0.970): ρ = -1" in text


def test_one_level_is_not_tested() -> None:
    verdict, text = _complexity(_table({0.45: (0.994, list(np.linspace(0.1, 0.5, 5)))}))
    assert verdict is None and "fewer than two task levels" in text


def test_levels_that_differ_in_a_swept_setting_are_not_task_levels() -> None:
    """Two learning rates on one task are two levels of the statistics but one task level:
    the rule does not compare them as easy and hard."""
    table = _table({0.45: (0.994, [0.3, 0.2, 0.1, 0.2, 0.3])})
    other = table.assign(**{"train.lr": 3e-4})
    both = pd.concat([table.assign(**{"train.lr": 1e-3}), other], ignore_index=True)
    both["cell"] = both["cell"] + both["train.lr"].astype(str)
    verdict, text = _complexity(both)
    assert verdict is None and "swept settings (train.lr)" in text


def test_figures_keep_task_levels_apart() -> None:
    """Two σ levels on one task: two panels of F_QP against δ, titled by σ, each drawing only
    its own networks — not one panel pooling both."""
    from pathlib import Path

    from cogdyn.report.data import SweepFiles
    from cogdyn.report.figures import fig_fqp_delta, level_keys

    table = _table({0.45: (0.994, [0.2] * 5), 0.7: (0.970, [0.4] * 5)})  # SL: 0.1 in both
    stats = sweep_stats(table)
    assert level_keys(stats) == ("dim_ring", "coherences", "sigma")
    fig = fig_fqp_delta(SweepFiles(Path("."), {}, table, stats))
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert len(titles) == 2 and "sigma = 0.45" in titles[0] and "sigma = 0.7" in titles[1]
    # Each top panel's faint dots are its level's RL networks only: F_QP 0.2, then 0.4.
    rl_dots = [  # every y drawn in the panel (SL's 0.1 in both)
        sorted({round(float(y), 3) for line in ax.lines for y in line.get_ydata()})
        for ax in fig.axes[:2]
    ]
    assert 0.2 in rl_dots[0] and 0.4 not in rl_dots[0]
    assert 0.4 in rl_dots[1] and 0.2 not in rl_dots[1]
