"""Smoke run of the benchmark suite: every figure is produced, with the JSON shape documented.

The figures of a quick run are not judged: it opens the demo exam downsampled 4 x 4, once.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.gpu  # the suite opens the reading window under X (Xvfb in CI)

FIGURES = {
    "startup", "first_paint", "full_resolution", "warm_open", "wl_frame", "wl_frame_4up",
    "peak_rss", "decode_jpeg2000", "decode_jpeg_lossless", "decode_jpeg_ls", "decode_rle",
    "decode_htj2k",
}


@pytest.fixture(scope="module")
def quick_figures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    folder = tmp_path_factory.mktemp("benchmarks")
    out = folder / "figures.json"
    environment = {**os.environ, "MAMMO_WORKSTATION_CACHE_DIR": str(folder / "cache")}
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json", str(out), "--work", str(folder / "work")],
        cwd=REPO, env=environment, capture_output=True, text=True, timeout=300, check=False,
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-4000:]
    assert "first_paint" in completed.stdout, "the table is printed"
    return dict(json.loads(Path(out).read_text()))


def test_quick_run_has_every_figure(quick_figures) -> None:
    assert set(quick_figures) == FIGURES


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_figure_shape(quick_figures, name: str) -> None:
    figure = quick_figures[name]
    assert {"value", "unit", "baseline", "ratio"} <= set(figure)
    assert figure["unit"] in ("s", "GiB")
    value, baseline, ratio = (float(figure[key]) for key in ("value", "baseline", "ratio"))
    assert value > 0
    assert math.isfinite(value)
    assert baseline > 0
    assert math.isfinite(baseline)
    assert ratio == pytest.approx(baseline / value)
