"""The report in a real browser: headless Chromium loads it from disk (file://), takes a
full-page screenshot, and the page must have rendered with no console error.

Skipped only when Chromium (or selenium) is missing AND ``COGDYN_REQUIRE_BROWSER`` is unset; CI
runs ``.ci/browser-setup`` and sets ``COGDYN_REQUIRE_BROWSER=1``, so there it must run."""

from __future__ import annotations

import importlib.util
import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cogdyn.report import build_report
from cogdyn.report.browser import find_chromium, render

REQUIRED = bool(os.environ.get("COGDYN_REQUIRE_BROWSER"))
HAVE = find_chromium() is not None and importlib.util.find_spec("selenium") is not None

pytestmark = [
    pytest.mark.usefixtures("one_thread"),
    pytest.mark.skipif(
        not HAVE and not REQUIRED,
        reason="Chromium/chromedriver or selenium missing (run .ci/browser-setup; "
        "set COGDYN_REQUIRE_BROWSER=1 to make this a failure)",
    ),
]


def test_report_renders_in_headless_chromium(sweep_dir: Path, tmp_path: Path) -> None:
    out = build_report(sweep_dir)
    seen = render(out)
    (tmp_path / "report.png").write_bytes(seen.png)  # kept for a look when the test fails
    assert seen.console_errors == []
    assert seen.title.startswith("cogdyn report")
    assert seen.width >= 800 and seen.height >= 3000  # a long page, not an error stub
    assert len(seen.png) > 50_000
    with Image.open(io.BytesIO(seen.png)) as im:
        assert im.size[1] >= seen.height * 0.9
        grey = np.asarray(im.convert("L"), dtype=np.float64)
    assert grey.std() > 10  # not blank
    assert (grey < 200).mean() > 0.02  # real ink: text and figures


def test_console_errors_are_caught(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>x</title></head><body><p>hi</p>"
        '<img src="missing.png" alt="missing"></body></html>'
    )
    assert render(page).console_errors, "a missing image must show up as a console error"
