"""The package's imports point one way: config → tasks → models → io → behaviour →
{train, dynamics, populations} → analysis → experiments → report → cli · api (docs/design.md);
the root package reaches the API only lazily (``FACADE``).

Every import counts, function-level ones too: the test reads the source of every module, so an
edge hidden inside a function is still an edge.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import cogdyn

PACKAGE = Path(cogdyn.__file__).parent

LAYERS: dict[str, int] = {
    # leaves every layer may use
    "cogdyn": 0,
    "cogdyn.errors": 0,
    "cogdyn.linalg": 0,
    "cogdyn.progress": 0,
    "cogdyn.schema": 1,
    "cogdyn.memory": 1,
    "cogdyn.devices": 1,
    "cogdyn.duration": 1,
    "cogdyn.config": 2,
    "cogdyn.tasks": 3,
    "cogdyn.models": 4,
    "cogdyn.io": 5,
    "cogdyn.behaviour": 6,
    # three libraries side by side: none imports another
    "cogdyn.train": 7,
    "cogdyn.dynamics": 7,
    "cogdyn.populations": 7,
    # the study's view of a run; interop reads and writes runs too
    "cogdyn.analysis": 8,
    "cogdyn.interop": 8,
    "cogdyn.experiments": 9,
    "cogdyn.examples": 9,
    "cogdyn.report": 10,
    "cogdyn.cli": 11,
    # the Python API: what the CLI does, as functions returning Run / Sweep objects
    "cogdyn.api": 11,
}
"""Rank of each top-level unit: a module may import units of a lower rank, and its own unit."""

FACADE: frozenset[tuple[str, str]] = frozenset(
    {
        # `import cogdyn` offers the API's names (PEP 562 __getattr__) ...
        ("cogdyn", "cogdyn.api"),
        ("cogdyn", "cogdyn.train"),
        # ... and `cogdyn.train(...)`, where cogdyn.train is also the training package.
        ("cogdyn.train", "cogdyn.api"),
    }
)
"""The only imports against the ranks: the façade's, each inside a function, so they run when an
API name is first used, never at import time (``test_facade_imports_are_lazy``)."""

# The generic libraries know no particular task: CtxDM is the study's, in analysis/ and above.
TASK_FREE = ("cogdyn.dynamics", "cogdyn.populations", "cogdyn.models")
TASK_SPECIFIC = ("cogdyn.tasks.ctxdm", "cogdyn.tasks.neurogym", "cogdyn.tasks.gym_env")
# The report reads files only: nothing that trains, runs or analyses a network.
REPORT_NEVER = ("cogdyn.train", "cogdyn.analysis", "cogdyn.behaviour", "cogdyn.models")


def unit(module: str) -> str:
    """The layer unit of a module: its subpackage, or the top-level module itself."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else parts[0]


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports(module: str, source: str, is_package: bool) -> list[tuple[str, str, int]]:
    """(imported module, imported name or "", line) of every cogdyn import in ``source``."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] != "cogdyn":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                # `from cogdyn import io` imports a module, not a name
                out.append(
                    (sub, "", node.lineno) if _is_module(sub) else (target, alias.name, node.lineno)
                )
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "cogdyn":
                    out.append((alias.name, "", node.lineno))
    return out


def _is_module(name: str) -> bool:
    rel = Path(*name.split(".")[1:])
    return (PACKAGE / rel).with_suffix(".py").is_file() or (PACKAGE / rel / "__init__.py").is_file()


def violations(sources: dict[str, tuple[str, bool]]) -> list[str]:
    """Every import against :data:`LAYERS`, of a private name across modules, or of a
    task-specific module by a generic library; one line each."""
    bad = []
    for module, (source, is_package) in sorted(sources.items()):
        here = unit(module)
        if here not in LAYERS:
            bad.append(f"{module}: not in LAYERS (add its unit to the layer table)")
            continue
        for target, name, line in imports(module, source, is_package):
            there = unit(target)
            if (module, target) in FACADE:
                continue
            if there not in LAYERS:
                bad.append(f"{module}:{line} imports {target}, a unit not in LAYERS")
            elif there != here and LAYERS[there] >= LAYERS[here] and there != "cogdyn":
                bad.append(
                    f"{module}:{line} imports {target} (rank {LAYERS[there]} ≥ {LAYERS[here]})"
                )
            if name.startswith("_") and target != module:
                bad.append(f"{module}:{line} imports the private name {name} from {target}")
            if here in TASK_FREE and target in TASK_SPECIFIC:
                bad.append(f"{module}:{line} imports {target}: {here} knows no particular task")
            if here == "cogdyn.report" and there in REPORT_NEVER:
                bad.append(f"{module}:{line} imports {target}: the report reads files only")
    return bad


def cycles(sources: dict[str, tuple[str, bool]]) -> list[list[str]]:
    """Import cycles between modules (function-level imports included)."""
    graph = {m: set() for m in sources}
    for module, (source, is_package) in sources.items():
        for target, _, _ in imports(module, source, is_package):
            if (module, target) in FACADE:  # lazy: not an edge at import time
                continue
            if target in graph and target != module and not module.startswith(target + "."):
                graph[module].add(target)
    found, state, stack = [], {}, []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                found.append([*stack[stack.index(n) :], n])
            elif n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    return found


def package_sources() -> dict[str, tuple[str, bool]]:
    return {
        module_name(p, PACKAGE): (p.read_text(), p.name == "__init__.py")
        for p in sorted(PACKAGE.rglob("*.py"))
    }


def test_imports_follow_the_layers() -> None:
    bad = violations(package_sources())
    assert not bad, "\n".join(bad)


def test_no_import_cycle() -> None:
    found = cycles(package_sources())
    assert not found, "\n".join(" → ".join(c) for c in found)


@pytest.mark.parametrize(
    ("module", "line", "expected"),
    [
        ("cogdyn.dynamics.maps", "from cogdyn.analysis.census import CensusOptions", "rank 8 ≥ 7"),
        ("cogdyn.tasks.base", "from cogdyn.io import read_json", "rank 5 ≥ 3"),
        ("cogdyn.train.loop", "from cogdyn.dynamics.classify import LABELS", "rank 7 ≥ 7"),
        ("cogdyn.report.build", "from cogdyn.cli.common import fmt", "rank 11 ≥ 10"),
        ("cogdyn.report.build", "from cogdyn.report.claims import _combine", "private name"),
        ("cogdyn.dynamics.maps", "from cogdyn.tasks.ctxdm import CtxDM", "knows no particular"),
        ("cogdyn.report.plot", "from cogdyn.analysis.run import analyze_run", "files only"),
    ],
)
def test_checker_catches_an_upward_import(module: str, line: str, expected: str) -> None:
    """The checker is not vacuous: an added upward (or sideways, private, task-specific) import
    inside a function is reported."""
    sources = package_sources()
    source, is_package = sources[module]
    sources[module] = (source + f"\n\ndef _added():\n    {line}\n", is_package)
    assert any(expected in v and module in v for v in violations(sources))


def test_facade_imports_are_lazy() -> None:
    """The façade's imports sit inside functions (so ``import cogdyn`` loads no API, no torch),
    and there are no others against the ranks."""
    sources = package_sources()
    for module, target in FACADE:
        source, is_package = sources[module]
        tree = ast.parse(source)
        top_level = {id(node) for node in tree.body}
        found = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom | ast.Import)
            and any(t == target for t, _, _ in imports(module, ast.unparse(node), is_package))
        ]
        assert found, f"{module} no longer imports {target}: drop it from FACADE"
        assert all(id(node) not in top_level for node in found), f"{module}: not lazy"


def test_import_cogdyn_is_light() -> None:
    """``import cogdyn`` alone imports neither torch nor the API (a fresh interpreter)."""
    import subprocess
    import sys

    code = "import sys, cogdyn; print('torch' in sys.modules, 'cogdyn.api' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PACKAGE
    )
    assert out.stdout.split() == ["False", "False"]


def test_checker_catches_a_cycle() -> None:
    sources = package_sources()
    source, is_package = sources["cogdyn.errors"]
    sources["cogdyn.errors"] = (source + "\nfrom cogdyn import config\n", is_package)
    assert any("cogdyn.errors" in c and "cogdyn.config" in c for c in cycles(sources))
