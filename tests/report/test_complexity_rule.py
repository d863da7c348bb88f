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
