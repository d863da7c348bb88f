"""Property tests of config and sweep parsing: any TOML document given to `cogdyn train --config`
or `cogdyn sweep` either loads or exits with status 2 and one line, never a traceback.

Documents are drawn three ways: arbitrary text; arbitrary tables whose keys are mostly the real
table and field names (so that values reach the validation of every field); and a valid config
with one value replaced by an arbitrary one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io as text_io
import json
import math
import tomllib
from pathlib import Path
from typing import Any

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from cogdyn.cli import main  # noqa: E402
from cogdyn.config import ModelConfig, TaskConfig, TrainConfig  # noqa: E402
from cogdyn.train.ppo import PPOConfig  # noqa: E402

FIELDS = {
    "task": [f.name for f in dataclasses.fields(TaskConfig)],
    "model": [f.name for f in dataclasses.fields(ModelConfig)],
    "train": [f.name for f in dataclasses.fields(TrainConfig)],
    "ppo": [f.name for f in dataclasses.fields(PPOConfig)],
}
SWEEP_TABLES = ["name", "description", "grid", "analysis", "execution", *FIELDS]
AXES = ["algo", "delta", "seed", "dim_ring", "coherences", "sigma"]
ANALYSIS = ["checkpoints", "n_trials", "census", "classify", "populations", "population"]

# ------------------------------------------------------------------ a small TOML writer


def _key(k: str) -> str:
    return json.dumps(k, ensure_ascii=False)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        return ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def to_toml(doc: dict[str, Any]) -> str:
    """Top-level scalars first, then one [table] per dict (nested dicts inline)."""
    lines = [f"{_key(k)} = {_value(v)}" for k, v in doc.items() if not isinstance(v, dict)]
    for k, v in doc.items():
        if isinstance(v, dict):
            lines.append(f"[{_key(k)}]")
            lines += [f"{_key(kk)} = {_value(vv)}" for kk, vv in v.items()]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ strategies

scalars = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-3, max_value=300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-2, max_value=2),
    st.booleans(),
    st.text(max_size=12),
    st.sampled_from(["sl", "ppo", "ctxdm", "neurogym:", "post", "uniform", "truncexp", "auto"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def _table(names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    keys = st.one_of(st.sampled_from(names), st.text(max_size=8))
    return st.dictionaries(keys, values, max_size=5)


train_docs = st.dictionaries(
    st.one_of(st.sampled_from([*FIELDS, "trian", "bogus", "schema_version"]), st.text(max_size=6)),
    st.one_of(*(_table(f) for f in FIELDS.values()), values),
    max_size=4,
)

VALID_TRAIN = {"model": {"hidden": 8}, "train": {"max_updates": 4, "eval_trials": 64}}


@st.composite
def mutated_train(draw: Any) -> dict[str, Any]:
    """A valid config with one field of one table set to an arbitrary value."""
    doc = json.loads(json.dumps(VALID_TRAIN))
    section = draw(st.sampled_from(list(FIELDS)))
    doc.setdefault(section, {})[draw(st.sampled_from(FIELDS[section]))] = draw(values)
    return doc


grid_values = st.lists(values, min_size=0, max_size=3)
sweep_docs = st.fixed_dictionaries(
    {"grid": st.dictionaries(st.one_of(st.sampled_from(AXES), st.text(max_size=5)), grid_values)},
    optional={
        "name": values,
        "analysis": _table(ANALYSIS),
        "execution": _table(["threads"]),
        "model": _table(FIELDS["model"]),
        "train": _table(FIELDS["train"]),
    },
)
VALID_SWEEP = {
    "grid": {"algo": ["sl"], "delta": [0.1], "seed": [0]},
    "model": {"hidden": 8},
    "analysis": {"census": {"grid": 3}},
}


@st.composite
def mutated_sweep(draw: Any) -> dict[str, Any]:
    doc = json.loads(json.dumps(VALID_SWEEP))
    where = draw(st.sampled_from(["grid", "analysis", "census", "classify", "execution", "top"]))
    key = draw(
        st.sampled_from(
            {
                "grid": AXES,
                "analysis": ANALYSIS,
                "census": ["grid", "extra_starts", "phase", "contexts", "max_coherence"],
                "classify": ["transient", "measure", "max_period", "n_exponents", "rtol"],
                "execution": ["threads", "workers"],
                "top": SWEEP_TABLES,
            }[where]
        )
    )
    value = draw(grid_values if where == "grid" else values)
    if where == "top":
        doc[key] = value
    elif where in ("census", "classify"):
        doc["analysis"].setdefault(where, {})[key] = value
    else:
        doc.setdefault(where, {})[key] = value
    return doc


# ------------------------------------------------------------------ the property


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = text_io.StringIO(), text_io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


def _loads_or_one_line(argv: list[str], text: str) -> None:
    rc, _, err = _run(argv)
    assert rc in (0, 2), f"exit {rc} for:\n{text}\n{err}"
    if rc == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("cogdyn: error: "), f"{text}\n{err}"
    assert "Traceback" not in err and "internal error" not in err, f"{text}\n{err}"


SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
    database=None,
)


@pytest.fixture
def toml_file(tmp_path, monkeypatch):
    monkeypatch.setenv("COGDYN_LOG_DIR", str(tmp_path / "crash-logs"))
    return tmp_path / "doc.toml"


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return text


@SETTINGS
@given(doc=st.one_of(train_docs, mutated_train()))
def test_any_train_config_loads_or_exits_2_with_one_line(toml_file, one_thread, doc):
    text = _write(toml_file, to_toml(doc))
    _loads_or_one_line(["train", "--config", str(toml_file), "--dry-run"], text)


@SETTINGS
@given(doc=st.one_of(sweep_docs, mutated_sweep()))
def test_any_sweep_file_loads_or_exits_2_with_one_line(toml_file, one_thread, doc):
    text = _write(toml_file, to_toml(doc))
    _loads_or_one_line(["sweep", str(toml_file), "--dry-run"], text)


@settings(SETTINGS, max_examples=60)
@given(text=st.text(max_size=200))
def test_any_text_as_a_config_or_sweep_file(toml_file, one_thread, text):
    _write(toml_file, text)
    _loads_or_one_line(["train", "--config", str(toml_file), "--dry-run"], text)
    _loads_or_one_line(["sweep", str(toml_file), "--dry-run"], text)


def test_the_writer_round_trips():
    """The strategies' TOML is what they mean (so the property is about the documents drawn)."""
    doc = {"a": 1, "t": {"x": [1.5, "s", True], "y": {"z": -3}}}
    assert tomllib.loads(to_toml(doc)) == doc
