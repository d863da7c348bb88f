"""Documentation checks: docstrings on the public API, help on every CLI option, and the site.

* Every public module, function, class, method and property of ``cogdyn`` (names without a
  leading underscore, defined in cogdyn) has a docstring — they are the API reference.
* Every command and option of ``cogdyn`` has help text — it is the CLI reference.
* ``mkdocs build --strict`` succeeds (warnings are errors) when mkdocs is installed
  (``pip install -e '.[docs]'``); skipped, with that reason, when it is not.

``KNOWN_MISSING`` lists what lacked a docstring when this test was written: a new gap fails the
test, and so does an entry that has been fixed (delete it from the list); an entry whose object
does not exist (yet) is ignored.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import cogdyn
from cogdyn.cli import make_parser

ROOT = Path(__file__).resolve().parents[1]

KNOWN_MISSING: set[str] = {
    # module:qualified name (or module:<module> for a module docstring). Shrink me.
    "cogdyn.config:TaskConfig.n_actions",
    "cogdyn.config:TaskConfig.n_inputs",
    "cogdyn.duration:Duration.is_constant",
    "cogdyn.duration:Duration.to_json",
    "cogdyn.dynamics.fixed_points:FixedPoints.eigenvalues",
    "cogdyn.dynamics.fixed_points:FixedPoints.kind",
    "cogdyn.dynamics.maps:FrozenInputMap.dtype",
    "cogdyn.dynamics.maps:FrozenInputMap.n_conditions",
    "cogdyn.dynamics.maps:FrozenInputMap.n_units",
    "cogdyn.models.rnn:VanillaRNN.bias",
    "cogdyn.populations.groups:Groups.sizes",
    "cogdyn.populations.options:PopulationOptions.to_json",
    "cogdyn.report.evidence:Evidence.rows",
    "cogdyn.report.data:Run.analysis",
    "cogdyn.report.data:Run.label",
    "cogdyn.report.data:SweepFiles.run_path",
    "cogdyn.report.html:esc",
    "cogdyn.report.html:section",
    "cogdyn.report.html:verdict_cell",
    "cogdyn.tasks.base:Outcome.accuracy",
    "cogdyn.tasks.base:TrialBatch.n_steps",
    "cogdyn.tasks.base:TrialBatch.n_trials",
    "cogdyn.tasks.base:TrialBatch.to",
    "cogdyn.tasks.ctxdm:CtxDM.n_actions",
    "cogdyn.tasks.ctxdm:CtxDM.n_inputs",
    "cogdyn.tasks.neurogym:NeurogymTask.n_actions",
    "cogdyn.tasks.neurogym:NeurogymTask.n_inputs",
    "cogdyn.tasks.registry:TrialTask.check_target",
    "cogdyn.tasks.registry:TrialTask.n_actions",
    "cogdyn.tasks.registry:TrialTask.n_inputs",
    "cogdyn.tasks.registry:TrialTask.sample",
    "cogdyn.tasks.registry:TrialTask.score",
    "cogdyn.train.loop:Seeds.from_seed",
    "cogdyn.train.loop:Updater.update",
    "cogdyn.train.ppo:Experience.alive",
    "cogdyn.train.ppo:Experience.rewards",
}
KNOWN_MISSING_CLI_HELP: set[str] = set()  # "command option" entries; keep it empty


def _public_modules() -> tuple[list, list[str]]:
    """Importable public modules of cogdyn, and those skipped for a missing optional package."""
    modules, skipped = [cogdyn], []
    for info in pkgutil.walk_packages(cogdyn.__path__, "cogdyn."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        try:
            modules.append(importlib.import_module(info.name))
        except ModuleNotFoundError as err:  # an optional extra (ray, gymnasium, neurogym, ...)
            if err.name and err.name.split(".")[0] == "cogdyn":
                raise
            skipped.append(f"{info.name} (needs {err.name})")
    return modules, skipped


def _documented(obj: object) -> bool:
    doc = inspect.getdoc(obj) if not inspect.isclass(obj) else obj.__dict__.get("__doc__")
    if not doc or not doc.strip():
        return False
    # dataclasses invent "Name(field: type, ...)" for a class without a docstring
    return not (inspect.isclass(obj) and doc.startswith(f"{obj.__name__}("))


def _members(cls: type) -> list[tuple[str, object]]:
    """Public methods and properties defined in the body of ``cls`` (not inherited)."""
    out = []
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(value, property):
            value = value.fget
        elif isinstance(value, staticmethod | classmethod):
            value = value.__func__
        if inspect.isfunction(value):
            out.append((name, value))
    return out


def missing_docstrings() -> list[str]:
    """``module:qualname`` of every public object of cogdyn without a docstring."""
    missing = []
    modules, _ = _public_modules()
    for module in modules:
        if not (module.__doc__ or "").strip():
            missing.append(f"{module.__name__}:<module>")
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if not _documented(obj):
                missing.append(f"{module.__name__}:{name}")
            if inspect.isclass(obj):
                for member, fn in _members(obj):
                    if not (fn.__doc__ or "").strip():
                        missing.append(f"{module.__name__}:{name}.{member}")
    return sorted(set(missing))


def _where(entry: str) -> str:
    module_name, _, qualname = entry.partition(":")
    module = importlib.import_module(module_name)
    path = Path(module.__file__).relative_to(ROOT)
    if qualname == "<module>":
        return f"{path}:1"
    obj: object = module
    for part in qualname.split("."):
        obj = getattr(obj, part)
    obj = obj.fget if isinstance(obj, property) else obj
    return f"{path}:{inspect.getsourcelines(obj)[1]}"


def _exists(entry: str) -> bool:
    """Whether the object of a KNOWN_MISSING entry exists (work in flight may not be merged)."""
    module_name, _, qualname = entry.partition(":")
    try:
        obj: object = importlib.import_module(module_name)
    except ImportError:
        return False
    if qualname == "<module>":
        return True
    for part in qualname.split("."):
        if not hasattr(obj, part):
            return False
        obj = getattr(obj, part)
    return True


def test_public_api_has_docstrings() -> None:
    missing = missing_docstrings()
    new = [m for m in missing if m not in KNOWN_MISSING]
    fixed = sorted(e for e in KNOWN_MISSING - set(missing) if _exists(e))
    assert not new, "public objects without a docstring:\n" + "\n".join(
        f"  {m}  ({_where(m)})" for m in new
    )
    assert not fixed, "documented now, delete from KNOWN_MISSING:\n" + "\n".join(fixed)


def test_walk_finds_the_package() -> None:
    modules, skipped = _public_modules()
    names = {m.__name__ for m in modules}
    assert {"cogdyn.cli", "cogdyn.dynamics.classify", "cogdyn.examples"} <= names
    assert len(modules) > 40, skipped


def _cli_actions(parser: argparse.ArgumentParser, path: str = ""):
    """(command path, subcommand help or None, action) for every action of every parser."""
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield f"{path} {name}".strip(), helps.get(name), None
                yield from _cli_actions(sub, f"{path} {name}".strip())
        else:
            yield path, None, action


def test_every_cli_command_and_option_has_help() -> None:
    missing = []
    commands = 0
    for path, command_help, action in _cli_actions(make_parser()):
        if action is None:
            commands += 1
            if not (command_help or "").strip():
                missing.append(path)
            continue
        name = action.option_strings[-1] if action.option_strings else action.dest
        if not (action.help or "").strip() or action.help == argparse.SUPPRESS:
            missing.append(f"{path} {name}")
    assert commands >= 8
    new = sorted(set(missing) - KNOWN_MISSING_CLI_HELP)
    fixed = sorted(KNOWN_MISSING_CLI_HELP - set(missing))
    assert not new, "CLI commands/options without help text: " + ", ".join(new)
    assert not fixed, "have help now, delete from KNOWN_MISSING_CLI_HELP: " + ", ".join(fixed)


def _hooks():
    sys.path.insert(0, str(ROOT / "docs" / "hooks"))
    try:
        return importlib.import_module("cogdyn_docs")
    finally:
        sys.path.pop(0)


def test_cli_reference_lists_every_command_and_option() -> None:
    """The generated CLI page is rendered from the live parser (no mkdocs needed)."""
    page = _hooks().cli_reference()
    for path, _, action in _cli_actions(make_parser()):
        if action is None:
            assert f"## cogdyn {path}" in page, path
        elif action.option_strings:
            assert f"`{action.option_strings[-1]}`" in page, (path, action.option_strings)
    # Each command's description, with its typical cost, is on the page as --help prints it.
    sub = next(a for a in make_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    for name in ("train", "analyze", "sweep", "reproduce", "report"):
        description = " ".join((sub.choices[name].description or "").split())
        assert "Typical cost" in description and description in page, name


def test_tutorial_page_keeps_prose_and_code() -> None:
    source = (ROOT / "docs" / "tutorial.py").read_text()
    page = _hooks().tutorial_page(source)
    assert page.startswith("# Tutorial")
    assert "```python" in page and "# %%" not in page
    assert "cogdyn.train(" in page and ".census(options)" in page  # the Python API


def test_tutorial_page_shows_what_each_cell_printed_and_drew() -> None:
    hooks = _hooks()
    source = "# %%\nprint('hello')\n# %% [markdown]\n# Prose.\n# %%\nx = 2\n"
    run = hooks.TutorialRun(["hello\n", ""], [["assets/tutorial/a.png"], []], {}, "STAMP")
    page = hooks.tutorial_page(source, run)
    assert "```text\nhello\n```" in page and "![a](assets/tutorial/a.png)" in page
    assert page.count("```text") == 1 and "STAMP" in page  # the silent cell shows nothing


def test_api_pages_cover_every_module() -> None:
    hooks = _hooks()
    covered = set()
    for package, _ in hooks.API_PAGES.values():
        covered.update(hooks.api_modules(package))
        covered.add(package)
    modules, _ = _public_modules()
    public = {m.__name__ for m in modules}
    assert public - covered == set(), "modules without an API page (add to API_PAGES)"


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


@pytest.mark.skipif(
    not all(_has(m) for m in ("mkdocs", "material", "mkdocstrings_handlers.python")),
    reason="mkdocs, mkdocs-material or mkdocstrings[python] not installed: "
    "pip install -e '.[docs]' to build the site",
)
def test_site_builds_strict(tmp_path) -> None:
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    for page in (
        "index.html",
        "getting-started.html",
        "tutorial.html",
        "reference/cli.html",
        "reference/api/dynamics.html",
        "scientific-notes.html",
        "examples.html",
        "task.html",
        "sweeps.html",
        "populations.html",
        "report.html",
        "design.html",
    ):
        assert (site / page).is_file(), page
    assert (site / "assets" / "trial-structure.png").stat().st_size > 10_000
    api = (site / "reference/api/dynamics.html").read_text()
    assert "classify_map" in api and "ClassifyOptions" in api


def test_the_results_howto_runs_on_the_shipped_quick_study_per_level(tmp_path) -> None:
    """The first snippet of docs/howto/results.md runs on the shipped quick study's results
    and splits its two σ levels instead of pooling them."""
    pd = pytest.importorskip("pandas")
    page = (ROOT / "docs" / "howto" / "results.md").read_text()
    code = page.split("```python\n", 1)[1].split("```", 1)[0]
    table = tmp_path / "results.parquet"
    pd.read_csv(ROOT / "docs" / "examples" / "quick" / "results.csv").to_parquet(table)
    assert '"runs/quick/results.parquet"' in code
    scope: dict = {}
    exec(code.replace('"runs/quick/results.parquet"', repr(str(table))), scope)
    assert scope["levels"] == ["sigma"]
    per = scope["done"].groupby(["algo", *scope["levels"], "delta"])["frac_qp"].count()
    assert len(per) == 12 and set(per) == {5}
