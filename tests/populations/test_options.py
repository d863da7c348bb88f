"""PopulationOptions: defaults are valid, bad values are one-line ConfigErrors."""

from __future__ import annotations

import json

import pytest

from cogdyn.errors import ConfigError
from cogdyn.populations import PopulationOptions


def test_defaults_and_json() -> None:
    opts = PopulationOptions(ablation_levels=[0, 0.5, 1])
    assert opts.ablation_levels == (0.0, 0.5, 1.0)
    json.dumps(opts.to_json(), allow_nan=False)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"activity_threshold": 1.0}, "populations.activity_threshold"),
        ({"activity_threshold": float("nan")}, "populations.activity_threshold"),
        ({"ablation_levels": (0.0, 1.5)}, "populations.ablation_levels"),
        ({"ablation_levels": (0.1, 0.5)}, "populations.ablation_levels"),
        ({"weight_noise_levels": (0.0,)}, "populations.weight_noise_levels"),
        ({"state_noise_levels": (0.0, 0.5, 0.2)}, "populations.state_noise_levels"),
        ({"state_noise_levels": 3}, "populations.state_noise_levels"),
        ({"robustness_draws": 0}, "populations.robustness_draws"),
        ({"n_shuffles": 2.5}, "populations.n_shuffles"),
        ({"decoder_folds": 1}, "populations.decoder_folds"),
        ({"fdr": 0.0}, "populations.fdr"),
        ({"fc_period": "rest"}, "populations.fc_period"),
        ({"decoder_ridge": -1.0}, "populations.decoder_ridge"),
    ],
)
def test_bad_options_are_one_line(kwargs, field) -> None:
    with pytest.raises(ConfigError) as err:
        PopulationOptions(**kwargs)
    assert err.value.field == field and "\n" not in str(err.value)
