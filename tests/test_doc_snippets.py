"""Every code block of README.md and docs/ works as written.

* ``toml`` blocks load through the real loaders: a block with a ``[grid]`` table is a sweep file
  (:func:`cogdyn.experiments.spec.sweep_from_dict`, every cell validated), any other a run config
  (:func:`cogdyn.config.run_config_from_dict`).
* ``bash`` blocks: every ``cogdyn …`` line is parsed by the real command-line parser (a long
  command is not run, but a misspelt flag or a wrong value fails); ``make X`` names a target of
  the Makefile; ``pip install '.[extra]'`` / ``cogdyn[extra]`` names an extra of pyproject.toml;
  ``python path.py`` names a file of the repository. Any other command fails the test until it
  is taught here, so no line goes unchecked by accident.
* ``python`` blocks run, in order and in one namespace per page, in a scratch directory whose
  ``runs/`` holds copies of the shipped example networks under the names the pages use
  (``runs/sl-d0.1-s0``, ``runs/ppo-d0.1-s0``; pages make ``runs/rl-small`` themselves) and a small
  real sweep as
  ``runs/quick``. A block preceded by ``<!-- doc-test: slow -->`` (one that trains to criterion)
  is left out (no page has one today).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import tomllib
from pathlib import Path

import pytest

from cogdyn import examples
from cogdyn.cli import make_parser
from cogdyn.cli.common import UsageError
from cogdyn.config import run_config_from_dict
from cogdyn.experiments.spec import sweep_from_dict

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(
    r"(?P<mark><!-- doc-test: (?P<flag>\w+) -->\n)?^```(?P<lang>\w*)\n(?P<body>.*?)^```",
    re.S | re.M,
)
SLOW_MARK = "slow"


def blocks(lang: str) -> list[tuple[str, int, str, str | None]]:
    """(page, block number on the page, code, doc-test flag) of every ``lang`` block."""
    out = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for n, m in enumerate(BLOCK.finditer(text), start=1):
            if m["lang"] == lang:
                out.append((str(page.relative_to(ROOT)), n, m["body"], m["flag"]))
    return out


def _id(b: tuple) -> str:
    return f"{b[0]}#{b[1]}"


# ------------------------------------------------------------------------------ TOML
@pytest.mark.parametrize("block", blocks("toml"), ids=_id)
def test_toml_block_loads(block) -> None:
    data = tomllib.loads(block[2])
    if "variant" in data or "base" in data:  # a sensitivity file (cogdyn sensitivity FILE)
        from cogdyn.experiments.sensitivity import study_from_dict

        study_from_dict(data)
    elif "grid" in data:
        sweep_from_dict(data)
    else:
        load_run_config(data)


def load_run_config(data: dict) -> None:
    """What ``cogdyn train --config`` does with a file: the run config and, for its [ppo]
    table, the PPO settings (unknown keys are errors)."""
    run_config_from_dict(data)


# ------------------------------------------------------------------------------ shell
MAKE_TARGETS = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
EXTRAS = set(
    tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
)


def _commands(body: str) -> list[str]:
    """Shell commands of a block: comments dropped, ``\\`` continuations joined."""
    text = re.sub(r"\\\n\s*", " ", body)
    out = []
    for line in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if line:
            out.append(line)
    return out


def check_command(line: str) -> None:
    """Raise AssertionError (or the parser's UsageError) when ``line`` would not work."""
    words = shlex.split(line)
    head = words[0].removeprefix(".venv/bin/")
    if head == "cogdyn":
        make_parser().parse_args(words[1:])
    elif head == "make":
        assert set(words[1:]) <= MAKE_TARGETS, f"no such make target in {line!r}"
    elif head in ("pip", "pip3") or words[:3] == ["python3", "-m", "pip"]:
        for word in words:
            for extra in re.findall(r"\[([\w,-]+)\]", word):
                missing = set(extra.split(",")) - EXTRAS
                assert not missing, f"{line!r}: no extra {missing} in pyproject.toml"
    elif head in ("python", "python3"):
        if words[1:2] == ["-m"]:
            assert words[2] in ("venv", "pip", "cogdyn.cli", "cogdyn.examples.make_examples")
        else:
            assert (ROOT / words[1]).is_file(), f"{line!r}: no file {words[1]}"
    elif head == "mkdocs":
        assert words[1] in ("build", "serve")
    elif head == "ray":
        assert words[1] in ("start", "stop", "status", "job", "up", "down", "submit")
        if "--" in words:  # `ray job submit ... -- cogdyn sweep ...`: the command it runs
            check_command(shlex.join(words[words.index("--") + 1 :]))
    elif head == "export":
        assert all(re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", w) for w in words[1:]), line
    else:
        raise AssertionError(f"{line!r}: a command this test does not know; teach it here")


@pytest.mark.parametrize("block", blocks("bash"), ids=_id)
def test_shell_block_commands_parse(block) -> None:
    for line in _commands(block[2]):
        try:
            check_command(line)
        except SystemExit as e:  # --help
            assert e.code == 0, f"{block[0]}: {line!r} exits {e.code}"
        except UsageError as e:
            raise AssertionError(f"{block[0]}: {line!r} does not parse: {e}") from None


def test_the_checker_catches_a_broken_command() -> None:
    """Not vacuous: a misspelt flag, a missing target and an unknown extra all fail."""
    for bad in (
        "cogdyn train --algo sl --detla 0.1",
        "cogdyn analyze runs/x --grid many",
        "make runn",
        "pip install 'cogdyn[nosuch]'",
        "cogdyn analyze runs/x --checkpoints sometimes",
        "ray job submit --working-dir . -- cogdyn sweep quick --wrokers 2",
    ):
        with pytest.raises((AssertionError, UsageError)):
            check_command(bad)
    with pytest.raises(ValueError, match="entropy"):
        load_run_config(tomllib.loads("[ppo]\nentropy = 0.01\n"))
    from cogdyn.experiments.sensitivity import study_from_dict

    bad = 'base = "quick"\n[[variant]]\nname = "x"\nfactor = "f"\nvalue = "v"\n'
    with pytest.raises(ValueError, match="lrr"):
        study_from_dict(tomllib.loads(bad + 'set = { "train.lrr" = 1e-3 }\n'))


# ------------------------------------------------------------------------------ Python
@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """A working directory with the runs the pages refer to."""
    root = tmp_path_factory.mktemp("docs")
    runs = root / "runs"
    for name, example in (("sl-d0.1-s0", "sl-small"), ("ppo-d0.1-s0", "rl-small")):
        examples.copy(example, runs / name)
    _tiny_sweep(root, runs / "quick")
    _tiny_study(root, runs)
    return root


def _tiny_study(folder: Path, runs: Path) -> None:
    """``runs/sensitivity``: a study whose base is the tiny sweep (copied in, so nothing is
    trained again) and one readout variant, with its sensitivity.parquet."""
    import shutil

    from cogdyn.experiments.sensitivity import load_study, run_study
    from cogdyn.report.sensitivity import write_sensitivity

    study = folder / "study.toml"
    study.write_text(
        'base = "tiny.toml"\n[[variant]]\nname = "denominator-bounded"\nfactor = "denominator"\n'
        'value = "bounded points"\nset = { "readout.measure" = "frac_qp_bounded" }\n'
    )
    shutil.copytree(runs / "quick", runs / "sensitivity" / "base")
    run_study(load_study(study), runs / "sensitivity", workers=1, progress=False)
    write_sensitivity(runs / "sensitivity")


def _tiny_sweep(folder: Path, out: Path) -> None:
    """The experiments tests' tiny 4-cell sweep (its cells carry the names the pages use)."""
    import importlib.util

    from cogdyn.experiments.spec import load_sweep
    from cogdyn.experiments.sweep import run_sweep

    path = ROOT / "tests" / "experiments" / "conftest.py"
    spec = importlib.util.spec_from_file_location("tiny_sweep", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run_sweep(load_sweep(module.write_tiny(folder, 8)), out, workers=2, progress=False)


def _pages_with_python() -> list[str]:
    return sorted({b[0] for b in blocks("python")})


@pytest.mark.parametrize("page", _pages_with_python())
def test_python_blocks_run(page: str, scratch: Path, one_thread, monkeypatch) -> None:
    _run_page(page, scratch, monkeypatch, slow=False)


def _run_page(page: str, scratch: Path, monkeypatch, *, slow: bool) -> None:
    work = scratch / re.sub(r"\W", "_", page)
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(scratch / "runs", work / "runs", symlinks=True)
    monkeypatch.chdir(work)
    namespace: dict = {"__name__": "__doc_snippet__"}
    ran = 0
    for _, n, code, flag in (b for b in blocks("python") if b[0] == page):
        if flag == SLOW_MARK and not slow:
            continue
        try:
            exec(compile(code, f"{page} block {n}", "exec"), namespace)
        except Exception as e:
            raise AssertionError(f"{page} block {n} fails: {type(e).__name__}: {e}") from e
        ran += 1
    assert ran or not slow
    assert os.getcwd() == str(work)
