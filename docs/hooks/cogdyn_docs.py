"""MkDocs hook: pages generated at build time from the code itself, so they cannot go stale.

* ``reference/cli.md`` — every command and option of ``cogdyn.cli.make_parser()``;
* ``tutorial.md`` — ``docs/tutorial.py`` (a jupytext percent script) as prose and code, each
  code cell followed by what it printed and the figures it wrote, executed at build time;
* ``examples.md`` — the shipped example networks, from ``cogdyn/examples/networks/index.json``;
* ``results.md`` — the shipped quick study (``docs/examples/quick``: run.json, stats.json,
  claims.json, results.csv) and the measurements in ``docs/data/*.json``;
* ``changelog.md`` and ``citing.md`` — from ``CHANGELOG.md`` and ``CITATION.cff``;
* ``reference/api/*.md`` — one page per subpackage, every module found on disk;
* ``assets/trial-structure.png`` — the trial figure, drawn by cogdyn's report code.

Nothing is written into the source tree; the files exist only in the build.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------------- CLI
def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _option_rows(parser: argparse.ArgumentParser) -> list[str]:
    rows = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        if action.option_strings:
            name = ", ".join(f"`{s}`" for s in action.option_strings)
            if action.nargs != 0:
                name += f" `{action.metavar or action.dest.upper()}`"
        else:
            name = f"`{action.metavar or action.dest}`"
        choices = ", ".join(f"`{c}`" for c in action.choices) if action.choices else ""
        default = action.default
        if action.nargs == 0 or default in (None, argparse.SUPPRESS) or not action.option_strings:
            shown = ""
        else:
            shown = f"`{default}`"
        required = "yes" if action.required else ""
        rows.append(f"| {name} | {_cell(action.help or '')} | {choices} | {shown} | {required} |")
    return rows


def cli_reference() -> str:
    """The CLI reference page, rendered from the live parser."""
    from cogdyn.cli import make_parser

    os.environ["COLUMNS"] = "100"  # argparse wraps usage lines at $COLUMNS
    parser = make_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {a.dest: a.help for a in sub._choices_actions}
    out = [
        "# Command-line reference",
        "",
        "Generated from `cogdyn.cli.make_parser()` when this site was built, so it lists exactly "
        "the commands and options of this version. `cogdyn COMMAND --help` prints the same.",
        "",
        "```text",
        parser.format_usage().strip(),
        "```",
        "",
        parser.description or "",
        "",
        "Options of `cogdyn` itself:",
        "",
        "| argument | help | choices | default | required |",
        "|---|---|---|---|---|",
        *_option_rows(parser),
        "",
        "| command | what it does |",
        "|---|---|",
    ]
    out += [f"| [`{n}`](#cogdyn-{n}) | {_cell(helps.get(n, ''))} |" for n in sub.choices]
    out.append("")
    for name, p in sub.choices.items():
        out += [
            f"## cogdyn {name}",
            "",
            # The command's description (what --help prints above the options: what it does,
            # its typical cost), else its one-line help.
            " ".join((p.description or helps.get(name, "") or "").split()),
            "",
            "```text",
            p.format_usage().strip(),
            "```",
            "",
            "| argument | help | choices | default | required |",
            "|---|---|---|---|---|",
            *_option_rows(p),
            "",
        ]
    return "\n".join(out)


# ------------------------------------------------------------------------------ tutorial
CELL = re.compile(r"^# %%(.*)$")


def _tutorial_cells(source: str) -> list[tuple[str, str]]:
    """(kind, text) of each non-empty cell of a jupytext percent script."""
    cells: list[tuple[str, list[str]]] = []
    kind, lines = "code", []
    for line in source.splitlines():
        m = CELL.match(line)
        if m:
            cells.append((kind, lines))
            kind, lines = ("markdown" if "[markdown]" in m.group(1) else "code"), []
        else:
            lines.append(line)
    cells.append((kind, lines))
    out = []
    for kind, lines in cells:
        text = "\n".join(lines).strip("\n")
        if text.strip() and not (kind == "code" and text.startswith("# ---")):
            out.append((kind, text))
    return out


@dataclass
class TutorialRun:
    """What executing the tutorial printed and drew, per code cell, and how it ran."""

    outputs: list[str]
    figures: list[list[str]]
    """Per code cell, the asset names of the PNG files it wrote."""
    assets: dict[str, bytes]
    stamp: str


def run_tutorial(source: str) -> TutorialRun:
    """Execute the tutorial's code cells in order in one namespace, as ``python
    docs/tutorial.py`` would, capturing each cell's standard output and the PNG files it
    writes into its output folder."""
    import contextlib
    import datetime
    import io as stdio
    import platform
    import tempfile
    import time

    import torch

    cells = [text for kind, text in _tutorial_cells(source) if kind == "code"]
    outputs: list[str] = []
    figures: list[list[str]] = []
    assets: dict[str, bytes] = {}
    threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory(prefix="cogdyn-tutorial-") as tmp:
        old = os.environ.get("COGDYN_TUTORIAL_OUT")
        os.environ["COGDYN_TUTORIAL_OUT"] = tmp
        namespace: dict[str, Any] = {"__name__": "__main__"}
        seen: set[str] = set()
        started = time.perf_counter()
        try:
            for i, code in enumerate(cells):
                buffer = stdio.StringIO()
                with contextlib.redirect_stdout(buffer):
                    exec(compile(code, f"tutorial.py cell {i + 1}", "exec"), namespace)
                outputs.append(buffer.getvalue().replace(tmp, "OUT"))
                new = sorted(p.name for p in Path(tmp).glob("*.png") if p.name not in seen)
                seen.update(new)
                names = []
                for name in new:
                    asset = f"assets/tutorial/{name}"
                    assets[asset] = (Path(tmp) / name).read_bytes()
                    names.append(asset)
                figures.append(names)
        finally:
            if old is None:
                os.environ.pop("COGDYN_TUTORIAL_OUT", None)
            else:
                os.environ["COGDYN_TUTORIAL_OUT"] = old
            torch.set_num_threads(threads)
            import matplotlib.pyplot as plt

            plt.close("all")
        elapsed = time.perf_counter() - started
    from cogdyn.io import environment_info

    commit = str(environment_info()["git_commit"] or "")[:7]
    stamp = (
        f"The outputs and figures below were computed when this site was built, on "
        f"{datetime.date.today().isoformat()} (commit `{commit or 'unknown'}`, "
        f"{os.cpu_count()} cores, {platform.machine()}, torch {torch.__version__}), in "
        f"{elapsed:.0f} s."
    )
    return TutorialRun(outputs, figures, assets, stamp)


def tutorial_page(source: str, run: TutorialRun | None = None) -> str:
    """A jupytext percent script as Markdown: markdown cells as prose, code cells as code, each
    followed by what it printed and drew when ``run`` (:func:`run_tutorial`) is given."""
    out = []
    code_index = 0
    for kind, text in _tutorial_cells(source):
        if kind == "markdown":
            out.append("\n".join(re.sub(r"^# ?", "", ln) for ln in text.splitlines()))
            continue
        code = "\n".join(ln for ln in text.splitlines() if not ln.startswith("# ruff:"))
        out.append(f"```python\n{code}\n```")
        if run is not None:
            printed = run.outputs[code_index].rstrip("\n")
            if printed:
                out.append(f"```text\n{printed}\n```")
            out += [f"![{Path(a).stem}]({a})" for a in run.figures[code_index]]
        code_index += 1
    header = (
        '!!! note "Run it"\n'
        "    This page is [`tutorial.py`](tutorial.py), a jupytext percent script: run it with "
        "`python docs/tutorial.py`, or open it as a notebook with `jupytext --to notebook "
        "docs/tutorial.py`. `tests/test_tutorial.py` executes it in CI and checks its results."
    )
    if run is not None:
        header += "\n\n    " + run.stamp
    body = "\n\n".join(out)
    title, _, rest = body.partition("\n")
    return f"{title}\n\n{header}\n{rest}\n"


# ------------------------------------------------------------------------------ examples
def examples_page() -> str:
    """The example networks and how to use them, from the shipped index."""
    index = ROOT / "src" / "cogdyn" / "examples" / "networks" / "index.json"
    meta = json.loads(index.read_text()) if index.is_file() else {}
    rows = [
        f"| `{name}` | {m['description']} | {m['updates_to_criterion']} | "
        f"{', '.join(f'{a:.3f}' for a in m['heldout_accuracy_post_criterion'])} | "
        f"{m['eval_accuracy']:.3f} | {m['frac_qp']:.2f} | {m['size_bytes'] / 1024:.0f} KiB |"
        for name, m in sorted(meta.items())
    ]
    page = EXAMPLES_TEMPLATE.replace("{rows}", "\n".join(rows) or "| (none built) |||||||")
    if _has_option("analyze", "--example"):
        page = page.replace("{cli}", EXAMPLE_FLAG)
    return page.replace("{cli}", "")


def _has_option(command: str, option: str) -> bool:
    """Whether ``cogdyn COMMAND`` has ``option`` in this version's parser."""
    from cogdyn.cli import make_parser

    sub = next(a for a in make_parser()._actions if isinstance(a, argparse._SubParsersAction))
    parser = sub.choices.get(command)
    return parser is not None and any(option in a.option_strings for a in parser._actions)


EXAMPLE_FLAG = """
Or in one command, which copies the example to a run directory first:

```bash
cogdyn analyze --example rl-small --grid 11 --starts 0
```
"""


EXAMPLES_TEMPLATE = """# Example networks

cogdyn ships a few small trained networks (N = 64, trained to the default 95 % held-out
criterion with cogdyn's own `train`), so the analysis can be tried without training first. Each
is a complete run directory as `cogdyn train` writes it, trimmed to the checkpoints the analysis
uses (untrained, criterion, post-criterion, final).

| name | what | updates to 95 % | held-out, post-criterion | fresh trials | F_QP | size |
|---|---|---|---|---|---|---|
{rows}

Fresh-trial accuracy: 2000 new trials (seed 12345), as `cogdyn eval` measures it. The final
model is the last post-criterion checkpoint; its accuracy can sit below 95 % — accuracy
fluctuates after the criterion, which is why cogdyn's headline numbers average over the
post-criterion checkpoints. F_QP: the fraction of the 2 × 11 × 11 stimulus-census grid points
(onset start) whose attractor is quasi-periodic, final model, default classifier.

## Use them

```python
from cogdyn import examples

examples.names()                                  # the list above
config, model = examples.load("rl-small")         # RunConfig and VanillaRNN
run_dir = examples.copy("rl-small", "runs/rl-small")   # a writable run directory
```

```bash
cogdyn eval runs/rl-small
cogdyn analyze runs/rl-small --grid 11 --starts 0
cogdyn plot runs/rl-small
```
{cli}
Analyse a copy: `examples.path(name)` points into the installed package, which may be
read-only, and `cogdyn analyze` writes `analysis/` into the run directory.

## Regenerate them

```bash
python -m cogdyn.examples.make_examples            # ≈ 2½ minutes on one core
```

The script (`src/cogdyn/examples/make_examples.py`) trains each network on one torch thread from
seed 0, so the same torch version gives the same weights; it then deletes the log-spaced early
checkpoints, evaluates each network and takes its census, and rewrites `index.json` and
`README.md` beside the networks.
"""


# ------------------------------------------------------------------------------ citing
def claims_page() -> str:
    """The paper's claims and targets in full: source, cogdyn's rule, and why."""
    from cogdyn.report.claims_text import CLAIMS, RULES, SOURCES, TARGETS, WHY

    out = [
        "# The claims and how cogdyn tests them",
        "",
        "Generated from `cogdyn.report.claims_text` when this site was built: the same text "
        "the report's claims table prints. The paper is Kononov et al., arXiv:2510.11162 "
        "(2025); its Methods could not be consulted, so each claim is read from the abstract, "
        "the first pages and the figure captions, and each target is what a reproduction of "
        "those claims should show. How the verdict kinds combine: [The report](report.md).",
        "",
    ]
    for kind, texts in (("claim", CLAIMS), ("target", TARGETS)):
        out += [f"## {kind.title()}s", ""]
        for i, text in enumerate(texts, start=1):
            key = f"{kind} {i}"
            out += [
                f"### {key.title()}",
                "",
                f"**{text}**",
                "",
                f"- *From:* {SOURCES[key]}.",
                f"- *Rule:* {RULES[key]}.",
                f"- *Why:* {WHY[key]}",
                "",
            ]
    return "\n".join(out)


# ------------------------------------------------------------------------------ results
MEASURES = (
    ("frac_qp", "F_QP"),
    ("frac_qp_bounded", "F_QP bounded"),
    ("frac_osc", "F_osc"),
    ("balance_index", "balance"),
)


def _num(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "—"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def _study_section(folder: Path, link: str) -> list[str]:
    import pandas as pd

    run = json.loads((folder / "run.json").read_text())
    stats = json.loads((folder / "stats.json").read_text())
    claims = json.loads((folder / "claims.json").read_text())
    results = pd.read_csv(folder / "results.csv")
    done = results[results["status"] == "done"]
    trained = ", ".join(f"`{c}` × {n}" for c, n in sorted(run["training_commits"].items()))
    out = [
        f"Made with `{run['command']}` on {run['date']} (networks trained at commits {trained}; "
        f"shipped at `{str(run['commit'])[:7]}`; {run['machine']}, {run['threads_per_cell']} "
        f"torch thread per cell): {run['done']} of "
        f"{run['cells']} networks done in **{run['wall_s'] / 60:.1f} min** wall "
        f"(training {run['train_s'] / 60:.1f} min and analysis {run['analysis_s'] / 60:.1f} min "
        f"summed over cells). Files: [report]({link}/report.html), "
        f"[stats.json]({link}/stats.json), [claims.json]({link}/claims.json), "
        f"[results.csv]({link}/results.csv). Copy a new run here with `make examples`."
        + (f" {run['note']}" if run.get("note") else ""),
        "",
        "### Per task level, paradigm and δ",
        "",
        "Mean ± SD over networks (each network: the mean over its headline checkpoints, those "
        "at criterion on fresh trials); *acc min* is the lowest fresh-trial accuracy of any "
        "headline checkpoint.",
        "",
    ]
    from cogdyn.experiments.stats import level_keys

    # The task levels the study sweeps (its level keys with more than one value).
    levels = [k for k in level_keys(done) if done[k].nunique() > 1]
    out += [
        "| "
        + "".join(f"{k} | " for k in levels)
        + "paradigm | δ | n | "
        + " | ".join(n for _, n in MEASURES)
        + " | acc min | updates |",
        "|" + "---|" * (len(levels) + 3) + "---|" * len(MEASURES) + "---|---|",
    ]
    for key, g in done.groupby([*levels, "algo", "delta"]):
        *level, algo, delta = key
        cells = []
        for col, _ in MEASURES:
            v = g[col].dropna() if col in g else g.iloc[:0, 0]
            cells.append(
                f"{v.mean():.3f} ± {v.std():.3f}"
                if len(v) > 1
                else _num(float(v.mean()) if len(v) else None)
            )
        acc = g["analysed_accuracy_min"].min() if "analysed_accuracy_min" in g else None
        upd = g["updates_to_criterion"].median()
        out.append(
            "| "
            + "".join(f"{v:g} | " if isinstance(v, float) else f"{v} | " for v in level)
            + f"{str(algo).upper()} | {delta:g} | {len(g)} | "
            + " | ".join(cells)
            + f" | {_num(float(acc) if acc is not None else None)} | {upd:.0f} |"
        )
    out += [
        "",
        "### RL − SL over the whole study",
        "",
        "Stratified by δ (and task level) permutation test of the mean difference, bootstrap "
        "95 % CI, rank-biserial correlation, and the smallest difference the study could "
        "detect at 80 % power (MDD).",
        "",
        "| measure | RL − SL | 95 % CI | rank-biserial | p | MDD | n RL / SL |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, name in MEASURES:
        t = (stats.get("tests") or {}).get(key)
        if not t:
            continue
        lo, hi = t["ci"]
        out.append(
            f"| {name} | {_num(t['effect'])} | [{_num(lo)}, {_num(hi)}] | "
            f"{_num(t['rank_biserial'], 2)} | {_num(t['p'], 4)} | {_num(t['mdd'])} | "
            f"{t['n_rl']} / {t['n_sl']} |"
        )
    var = stats.get("variance") or {}
    if var.get("paradigm") is not None:
        out += [
            "",
            f"Variance of per-checkpoint F_QP ({var['n']} checkpoints of {var['n_networks']} "
            f"networks): between strata {var['stratum']:.0%}, between paradigms "
            f"{var['paradigm']:.0%}, between seeds {var['seed']:.0%}, between checkpoints of one "
            f"network {var['checkpoint']:.0%}.",
        ]
    counts: dict[str, int] = {}
    for c in claims:
        counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
    out += [
        "",
        "### Every claim and target",
        "",
        "Verdicts as the report computes them ("
        + ", ".join(f"{n} {v}" for v, n in counts.items())
        + "); what each claim states and how it is tested: [the claims](claims.md); how to "
        "read a verdict: [the report](report.md).",
        "",
        "| | verdict | measured |",
        "|---|---|---|",
    ]
    out += [f"| {c['key']} | {c['verdict']} | {_cell(c['measured'])} |" for c in claims]
    return out


def _sensitivity_section(folder: Path, link: str) -> list[str]:
    """The shipped sensitivity study (``docs/examples/sensitivity``): every entry's central
    RL − SL effect with its CI, and every verdict that differs from the base's."""
    import pandas as pd

    from cogdyn.report.sensitivity import NOT_RUN, flip_table, partial_entries

    run = json.loads((folder / "run.json").read_text())
    frame = pd.read_csv(folder / "sensitivity.csv")
    frame[["factor", "value"]] = frame[["factor", "value"]].fillna("")  # the base has none
    flips = flip_table(frame)
    running = partial_entries(frame)
    entries = run.get("entries") or {}
    ran = {k: v for k, v in entries.items() if k != "base"}
    out = [
        f"Made with `{run['command']}` on {run['date']} (shipped at `{str(run['commit'])[:7]}`; "
        f"{run['machine']}): the base and {len(ran)} variants with cells, "
        f"{sum(e['done'] for e in ran.values())} of {sum(e['cells'] for e in ran.values())} "
        f"variant cells done (training {run['train_s'] / 3600:.1f} h and analysis "
        f"{run['analysis_s'] / 3600:.1f} h summed over cells). Files: "
        f"[report]({link}/report.html), [sensitivity.csv]({link}/sensitivity.csv), "
        f"[the study file]({link}/sensitivity.toml)."
        + (f" {run['note']}" if run.get("note") else ""),
        "",
        "### The central effect in every variant",
        "",
        "RL − SL difference of the variant's F_QP measure (stratified permutation test, "
        "bootstrap 95 % CI), and how many verdicts differ from the base's.",
        "",
        "| entry | factor | value | kind | RL − SL | 95 % CI | p | verdicts changed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    changed = flips.groupby("variant").size()
    for name, g in frame.groupby("variant", sort=False):
        row = g.iloc[0]
        effect = row["effect"] if pd.notna(row["effect"]) else None
        ci = (
            f"[{_num(float(row['ci_low']))}, {_num(float(row['ci_high']))}]"
            if effect is not None
            else "—"
        )
        flipped = f"partial ({running[name]} cells)" if name in running else changed.get(name, 0)
        out.append(
            f"| {name} | {_cell(row['factor'])} | {_cell(row['value'])} | {row['kind']} | "
            f"{_num(float(effect) if effect is not None else None)} | {ci} | "
            f"{_num(float(row['p']) if pd.notna(row['p']) else None, 4)} | {flipped} |"
        )
    out += ["", "### Verdicts that change", ""]
    if flips.empty:
        out.append("No variant changes a verdict of the base.")
    else:
        out += ["| variant | claim | base | variant's |", "|---|---|---|---|"]
        out += [
            f"| {r.variant} | {r.claim} | {r.base_verdict} | {r.verdict} |"
            for r in flips.itertuples()
        ]
    not_run = frame.loc[frame["verdict"] == NOT_RUN, "variant"].unique()
    if len(not_run):
        out += ["", f"Not run yet (no verdicts): {', '.join(not_run)}."]
    if running:
        said = ", ".join(f"{k} ({v} cells done)" for k, v in running.items())
        out += [
            "",
            f"Still running when shipped: {said}. Their effects are those of the cells done; "
            "their verdicts are not counted as changes.",
        ]
    return out


def results_page() -> str:
    """What the shipped study found and what the measurement scripts measured, from files."""
    out = [
        "# Results",
        "",
        "Generated when this site was built, from the files the shipped study and the "
        "measurement scripts wrote; nothing here is typed by hand. Each section names the "
        "command that reproduces it, the date, the commit and the machine.",
        "",
        "## The quick study",
        "",
        *_study_section(ROOT / "docs" / "examples" / "quick", "examples/quick"),
        "",
    ]
    sensitivity = ROOT / "docs" / "examples" / "sensitivity"
    if (sensitivity / "run.json").is_file():
        out += [
            "## The sensitivity study",
            "",
            *_sensitivity_section(sensitivity, "examples/sensitivity"),
            "",
        ]
    out += [
        "## Measurements",
        "",
    ]
    for path in sorted((ROOT / "docs" / "data").glob("*.json")):
        m = json.loads(path.read_text())
        out += [
            f"### {m['what'][0].upper()}{m['what'][1:]}",
            "",
            f"`{m['command']}` on {m['date']} (commit `{str(m['commit'])[:7]}`, {m['machine']})"
            + (
                f": {m['agreement']:.1%} of {m['orbits']} orbits keep their label."
                if "agreement" in m
                else "."
            ),
            "The full table is in [Attractors and F_QP](concepts/dynamics.md)."
            if path.stem == "classifier-window"
            else "",
            "",
        ]
    return "\n".join(out)


def citing_page() -> str:
    """How to cite cogdyn and the paper, from CITATION.cff."""
    import yaml

    cff = (ROOT / "CITATION.cff").read_text()
    data = yaml.safe_load(cff)
    ref = data["preferred-citation"]
    authors = " and ".join(f"{a['family-names']}, {a['given-names']}" for a in ref["authors"])
    bib_paper = (
        "@misc{kononov2025hybrid,\n"
        f"  title = {{{ref['title']}}},\n"
        f"  author = {{{authors}}},\n"
        f"  year = {{{ref['year']}}},\n"
        "  eprint = {2510.11162},\n"
        "  archivePrefix = {arXiv},\n"
        f"  url = {{{ref['url']}}}\n"
        "}"
    )
    bib_tool = (
        "@software{cogdyn,\n"
        f"  title = {{{data['title']}}},\n"
        f"  author = {{{data['authors'][0]['name']}}},\n"
        f"  version = {{{data['version']}}},\n"
        f"  note = {{{data['abstract'].strip()}}}\n"
        "}"
    )
    return (
        "# Citing\n\n"
        "If cogdyn helps your work, cite the study it implements and, for the software, cogdyn "
        "itself. `CITATION.cff` at the repository root holds both (GitHub's *Cite this "
        "repository* reads it).\n\n"
        f"## The paper\n\n{ref['authors'][0]['family-names']} et al., *{ref['title']}*, "
        f"arXiv:2510.11162 ({ref['year']}).\n\n```bibtex\n{bib_paper}\n```\n\n"
        f"## The software\n\n```bibtex\n{bib_tool}\n```\n\n"
        f"## CITATION.cff\n\n```yaml\n{cff.strip()}\n```\n"
    )


# ------------------------------------------------------------------------------ figure
def trial_figure() -> bytes:
    """Fig. 1a analog from cogdyn's report code, for the default task."""
    import matplotlib

    matplotlib.use("Agg")
    from cogdyn.config import RunConfig
    from cogdyn.report.run_figures import fig_trial_structure
    from cogdyn.report.style import figure_bytes

    fig = fig_trial_structure(RunConfig().to_json()["task"])
    return figure_bytes(fig, "png", dpi=110)


# ------------------------------------------------------------------------------ API
API_PAGES: dict[str, tuple[str, str]] = {
    "core": ("cogdyn", "The Python API, configuration, files, behaviour, interop"),
    "tasks": ("cogdyn.tasks", "Tasks"),
    "models": ("cogdyn.models", "The network"),
    "train": ("cogdyn.train", "Training"),
    "dynamics": ("cogdyn.dynamics", "Dynamics"),
    "analysis": ("cogdyn.analysis", "Run-level analysis"),
    "populations": ("cogdyn.populations", "Populations, robustness, information"),
    "experiments": ("cogdyn.experiments", "Sweeps"),
    "report": ("cogdyn.report", "The report"),
    "examples": ("cogdyn.examples", "Example networks"),
    "cli": ("cogdyn.cli", "The command line"),
}
"""Page stem → (package, title). ``core`` holds the top-level modules of ``cogdyn``."""


def api_modules(package: str) -> list[str]:
    """Public modules of ``package``, found on disk (a new module shows up by itself)."""
    folder = ROOT / "src" / Path(*package.split("."))
    if package == "cogdyn":
        return [f"cogdyn.{p.stem}" for p in sorted(folder.glob("*.py")) if p.stem[0] != "_"]
    return [f"{package}.{p.stem}" for p in sorted(folder.glob("*.py")) if p.stem[0] != "_"]


def api_page(package: str, title: str) -> str:
    """One API page: the package's docstring, then every public module's members."""
    out = [f"# {title}", ""]
    if package != "cogdyn":
        out += [f"::: {package}", "    options:", "      members: false", ""]
    for module in api_modules(package):
        out += [f"::: {module}", ""]
    return "\n".join(out)


ROLE = re.compile(
    r":(?:class|func|meth|mod|data|attr|exc|obj):(<code>)~?(?:[\w.]*\.)?([^<]+</code>)"
)


def on_page_content(html: str, **_: Any) -> str:
    """Sphinx roles in docstrings (``:class:`~a.B` ``) render as plain code (``B``)."""
    return ROLE.sub(r"\1\2", html)


# ------------------------------------------------------------------------------ hook
def on_files(files: Any, config: Any) -> Any:
    """Add the generated pages and figure to the build."""
    from mkdocs.structure.files import File

    tutorial = (Path(config["docs_dir"]) / "tutorial.py").read_text()
    ran = run_tutorial(tutorial)
    generated: dict[str, str | bytes] = {
        "reference/cli.md": cli_reference(),
        "tutorial.md": tutorial_page(tutorial, ran),
        **ran.assets,
        "examples.md": examples_page(),
        "citing.md": citing_page(),
        "claims.md": claims_page(),
        "results.md": results_page(),
        "changelog.md": (ROOT / "CHANGELOG.md").read_text(),
        "assets/trial-structure.png": trial_figure(),
    }
    for stem, (package, title) in API_PAGES.items():
        generated[f"reference/api/{stem}.md"] = api_page(package, title)
    for uri, content in generated.items():
        files.append(File.generated(config, uri, content=content))
    return files


__all__ = ["api_page", "cli_reference", "on_files", "on_page_content", "tutorial_page"]
