"""HTML building blocks of the report: one page, inline CSS, figures as data: URIs, no script,
no external resource — the file opens anywhere, offline."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

import pandas as pd

from cogdyn.report.style import ALGO_COLOR, data_uri, figure_bytes

CSS = """
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 0 auto;
       max-width: 1000px; padding: 1em 2em; color: #222; line-height: 1.45; background: #fff; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 2px solid #ccc;
     padding-bottom: 0.2em; margin-top: 2em; } h3 { margin-bottom: 0.3em; }
nav { font-size: 0.9em; } nav a { margin-right: 1em; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.85em; color: #444; }
table { border-collapse: collapse; font-size: 0.82em; margin: 0.6em 0; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
.missing { color: #555; background: #f7f7f7; border-left: 4px solid #999; padding: 0.4em 0.8em; }
.verdict { font-weight: bold; white-space: nowrap; }
.v-reproduced { color: #00603f; } .v-not-reproduced { color: #a33a00; }
.v-not-tested { color: #555; } .v-contradicted { color: #8b0000; font-weight: bold; }
.v-inconclusive { color: #7a5c00; }
.rl { color: %RL%; font-weight: bold; } .sl { color: %SL%; font-weight: bold; }
pre { background: #f7f7f7; padding: 0.6em; overflow-x: auto; font-size: 0.8em; }
.scroll { overflow-x: auto; max-width: 100%; }
details summary { cursor: pointer; font-weight: bold; margin: 0.8em 0; }
code { background: #f2f2f2; padding: 0 3px; }
""".replace("%RL%", ALGO_COLOR["ppo"]).replace("%SL%", ALGO_COLOR["sl"])

MISSING_FIGURE = "not computed"


def esc(x: Any) -> str:
    return escape(str(x), quote=True)


def missing(what: str, how: str = "") -> str:
    """The note shown where a figure or table has no data."""
    extra = f" — {esc(how)}" if how else ""
    return f'<p class="missing"><b>{MISSING_FIGURE}</b>: {esc(what)}{extra}</p>'


def figure(fig: Any, caption: str, alt: str, *, how: str = "") -> str:
    """A matplotlib figure as an embedded PNG with its caption, or the "not computed" note when
    ``fig`` is None."""
    if fig is None:
        return missing(alt, how)
    uri = data_uri(figure_bytes(fig, "png"))
    img = f'<img src="{uri}" alt="{esc(alt)}">'
    return f"<figure>{img}<figcaption>{esc(caption)}</figcaption></figure>"


def table(rows: Iterable[Sequence[Any]], headers: Sequence[str], *, raw: bool = False) -> str:
    """An HTML table; cells are escaped unless ``raw``."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{c if raw else esc(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def frame_table(frame: pd.DataFrame, max_rows: int = 12, digits: int = 3) -> str:
    """A preview of a DataFrame (first ``max_rows`` rows, numbers rounded)."""
    shown = frame.head(max_rows)
    rows = [[_cell(v, digits) for v in r] for r in shown.itertuples(index=False)]
    more = (
        f"<p><small>{len(frame) - max_rows} more rows</small></p>" if len(frame) > max_rows else ""
    )
    return table(rows, [str(c) for c in frame.columns]) + more


def _cell(v: Any, digits: int) -> str:
    if isinstance(v, float):
        return "—" if v != v else f"{v:.{digits}g}"
    return str(v)


def verdict_cell(verdict: str) -> str:
    cls = "v-" + verdict.replace(" ", "-")
    return f'<span class="verdict {cls}">{esc(verdict)}</span>'


def section(sid: str, title: str, body: str) -> str:
    return f'<section id="{esc(sid)}"><h2>{esc(title)}</h2>\n{body}\n</section>'


def page(title: str, intro: str, sections: list[tuple[str, str, str]]) -> str:
    """The whole document: ``sections`` are (id, title, body HTML)."""
    nav = " ".join(f'<a href="#{esc(s)}">{esc(t)}</a>' for s, t, _ in sections)
    parts = "\n".join(section(s, t, b) for s, t, b in sections)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>\n<body>"
        f"<h1>{esc(title)}</h1>{intro}<nav>{nav}</nav>\n{parts}\n</body></html>\n"
    )
