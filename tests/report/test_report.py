"""``build_report`` and ``plot_run`` on a small sweep: every section, every figure an embedded
PNG, claims verdicts that follow ``stats.json``, "not computed" where data is missing."""

from __future__ import annotations

import base64
import io
import json
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from cogdyn.report import build_report, claims_for, plot_run
from cogdyn.report.build import SECTIONS
from cogdyn.report.claims import Evidence, evaluate_claims
from cogdyn.report.data import read_sweep, representative

pytestmark = pytest.mark.usefixtures("one_thread")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class Page(HTMLParser):
    """Sections, images, links and the claims table's rows of a report."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.images: list[str] = []
        self.external: list[str] = []
        self.tags: set[str] = set()
        self.rows: list[list[str]] = []
        self._section = ""
        self._cell: list[str] | None = None
        self._row: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "section":
            self._section = a["id"]
            self.sections.append(a["id"])
        if tag == "img":
            self.images.append(a["src"])
        for key in ("src", "href"):
            if a.get(key, "").startswith(("http:", "https:", "//")):
                self.external.append(a[key])
        if tag == "tr" and self._section == "claims":
            self._row = []
        if tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        if tag == "tr" and self._row:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    @property
    def verdicts(self) -> dict[str, str]:
        return {r[0]: r[3] for r in self.rows}


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_report_has_every_section_and_only_embedded_pngs(sweep_dir: Path) -> None:
    out = build_report(sweep_dir)
    assert out == sweep_dir / "report.html"
    page = parse(out)
    assert page.sections == [s for s, _ in SECTIONS]
    assert not page.external and "script" not in page.tags
    assert len(page.images) >= 12
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert data.startswith(PNG_MAGIC)
        with Image.open(io.BytesIO(data)) as im:
            assert im.size[0] > 200 and im.size[1] > 100
    # Atomic write: no temporary file left beside the report.
    assert [p.name for p in sweep_dir.iterdir() if p.name.startswith(".")] == []


def verdicts_of(sweep_dir: Path) -> dict[str, str]:
    return {v.key: v.verdict for v in claims_for(sweep_dir)}


def test_claims_verdicts_follow_stats_json(sweep_dir: Path) -> None:
    # The page's table is the computed one.
    assert parse(build_report(sweep_dir)).verdicts == verdicts_of(sweep_dir)
    # Three seeds per paradigm: the smallest two-sided Mann–Whitney p is 0.1, so F_QP(RL) >
    # F_QP(SL) is not significant and claim 4 is not reproduced.
    verdicts = verdicts_of(sweep_dir)
    assert len(verdicts) == 19
    assert verdicts["claim 4"] == "not reproduced"
    assert verdicts["target 1"] == "reproduced"
    assert verdicts["claim 7"] == "not tested"  # no balance index in results.parquet

    stats_path = sweep_dir / "stats.json"
    stats = json.loads(stats_path.read_text())
    for g in stats["groups"]:
        g["mann_whitney"]["p"] = 0.01
    stats["delta_trend"]["ppo"] = {"rho": 0.8, "p": 0.001, "n": 6}
    stats_path.write_text(json.dumps(stats))
    verdicts = verdicts_of(sweep_dir)
    assert verdicts["claim 4"] == "reproduced"
    assert verdicts["claim 5"] == "reproduced"
    assert verdicts["target 3"] == "reproduced"  # most RL F_QP > 0, SL ≈ 0, significant

    for g in stats["groups"]:
        g["mann_whitney"] = {"u": None, "p": None}
    stats["delta_trend"]["ppo"] = {"rho": None, "p": None, "n": 1}
    stats_path.write_text(json.dumps(stats))
    verdicts = verdicts_of(sweep_dir)
    assert verdicts["claim 4"] == verdicts["claim 5"] == "not tested"


def test_claim_rules_on_hand_made_evidence() -> None:
    results = pd.DataFrame(
        {
            "algo": ["ppo"] * 3 + ["sl"] * 3,
            "status": "done",
            "delta": 0.1,
            "frac_qp": [0.3, 0.4, 0.5, 0.0, 0.0, 0.01],
            "balance_index": [0.9, 0.95, 0.92, 0.5, 0.4, 0.45],
            "robust_weight_noise": [0.8, 0.9, 0.85, 0.5, 0.4, 0.45],
        }
    )
    groups = [{"delta": 0.1, "ppo": {"frac_qp_mean": 0.4}, "sl": {"frac_qp_mean": 0.0}}]
    by_key = {}
    for p, expect in ((0.01, "reproduced"), (0.2, "not reproduced"), (None, "not tested")):
        groups[0]["mann_whitney"] = {"u": 9, "p": p}
        ev = Evidence(results=results, stats={"groups": groups})
        by_key = {v.key: v for v in evaluate_claims(ev)}
        assert by_key["claim 4"].verdict == expect, p
    # RL more balanced (p = 0.1 with 3 vs 3 is not < 0.05): not reproduced, numbers shown.
    assert by_key["claim 7"].verdict == "not reproduced"
    assert "0.923" in by_key["claim 7"].measured
    assert by_key["target 2"].verdict == "not tested"  # no output probabilities given


def test_missing_analyses_render_not_computed(sweep_dir: Path) -> None:
    (sweep_dir / "stats.json").unlink()
    for algo in ("sl", "ppo"):
        analysis = sweep_dir / "runs" / algo / "analysis"
        for name in ("populations", "robustness", "information", "crystallisation"):
            (analysis / f"{name}.parquet").unlink(missing_ok=True)
        (analysis / "crystallisation_training.parquet").unlink(missing_ok=True)
    out = build_report(sweep_dir)
    html = out.read_text()
    page = parse(out)
    assert page.sections == [s for s, _ in SECTIONS]
    for sid in ("populations", "information"):
        body = html.split(f'<section id="{sid}">', 1)[1].split("</section>", 1)[0]
        assert "not computed" in body and "<img" not in body
    assert page.verdicts["claim 4"] == "not tested"


def test_representative_is_the_median_network(sweep_dir: Path) -> None:
    sweep = read_sweep(sweep_dir)
    for algo, (delta, seed) in {"ppo": (0.2, 1), "sl": (0.1, 0)}.items():
        rep = representative(sweep, algo)
        assert rep is not None and rep.path == sweep_dir / "runs" / algo
        assert (rep.row["delta"], rep.row["seed"]) == (delta, seed)


def test_plot_run_writes_png_and_svg(tiny_runs: dict[str, Path], tmp_path: Path) -> None:
    files = plot_run(tiny_runs["ppo"], tmp_path / "figs", formats=("png", "svg"))
    names = {f.name for f in files}
    for stem in ("trial_structure", "output_probabilities", "attractor_map", "phase_portrait"):
        assert {f"{stem}.png", f"{stem}.svg"} <= names
    for f in files:
        head = f.read_bytes()[:200]
        assert head.startswith(PNG_MAGIC) if f.suffix == ".png" else b"<svg" in f.read_bytes()
    with pytest.raises(ValueError, match="formats"):
        plot_run(tiny_runs["ppo"], tmp_path / "x", formats=("gif",))
