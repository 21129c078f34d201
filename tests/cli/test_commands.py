"""The headless commands, run as a user would: in a subprocess, on the demo exam."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
from PySide6.QtGui import QImage

from mammo_workstation.render.offscreen import qimage_to_array
from tests.conftest import DEMO_CURRENT, data_path


def _run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mammo_workstation", *arguments],
        capture_output=True, text=True, timeout=300, check=False,
    )


def _read_png(path: Path) -> np.ndarray:
    image = QImage(str(path))
    assert not image.isNull(), f"{path} is not a readable PNG"
    return qimage_to_array(image.convertToFormat(QImage.Format.Format_RGB888))


def test_render_writes_the_image_at_one_to_one(tmp_path: Path) -> None:
    source = DEMO_CURRENT / "LCC.dcm"
    out = tmp_path / "lcc.png"
    result = _run("render", str(source), "--out", str(out))
    assert result.returncode == 0, result.stderr
    dataset = pydicom.dcmread(source)
    pixels = _read_png(out)[..., 0]
    assert pixels.shape == (dataset.Rows, dataset.Columns)
    padding = dataset.pixel_array == dataset.PixelPaddingValue
    assert padding.any()
    assert (pixels[padding] == 0).all(), "Pixel Padding Value is shown black"


def test_render_window_index_counts_from_one(tmp_path: Path) -> None:
    """--window 2 applies the HARDER preset: a narrower window gives more contrast."""
    source = DEMO_CURRENT / "RCC.dcm"
    first, second = tmp_path / "w1.png", tmp_path / "w2.png"
    assert _run("render", str(source), "--out", str(first), "--window", "1").returncode == 0
    assert _run("render", str(source), "--out", str(second), "--window", "2").returncode == 0
    assert not np.array_equal(_read_png(first), _read_png(second))
    result = _run("render", str(source), "--out", str(second), "--window", "9")
    assert result.returncode == 2
    assert "window 9" in result.stderr


def test_render_reports_an_undecodable_file(tmp_path: Path) -> None:
    broken = data_path("real", "decoding", "pylibjpeg-data", "966.dcm")
    result = _run("render", str(broken), "--out", str(tmp_path / "x.png"))
    assert result.returncode == 2
    assert "966.dcm" in result.stderr
    assert "Traceback" not in result.stderr


def test_screenshot_shows_four_views(tmp_path: Path) -> None:
    out = tmp_path / "shot.png"
    result = _run("screenshot", str(DEMO_CURRENT), "--out", str(out), "--size", "1200x800")
    assert result.returncode == 0, result.stderr
    pixels = _read_png(out)[..., 0]
    assert pixels.shape == (800, 1200)
    height, width = pixels.shape
    quadrants = [
        pixels[: height // 2, : width // 2], pixels[: height // 2, width // 2 :],
        pixels[height // 2 :, : width // 2], pixels[height // 2 :, width // 2 :],
    ]
    for quadrant in quadrants:
        assert (quadrant > 60).mean() > 0.05, "each quadrant shows a breast"


def test_screenshot_of_a_folder_without_images_fails_clearly(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no DICOM here")
    result = _run("screenshot", str(tmp_path), "--out", str(tmp_path / "x.png"))
    assert result.returncode == 1
    assert "no displayable images" in result.stderr


def test_hang_json_lists_each_viewport() -> None:
    result = _run("hang", str(DEMO_CURRENT), "--json")
    assert result.returncode == 0, result.stderr
    hanging = json.loads(result.stdout)
    first_stage = hanging["stages"][0]
    expected = {}
    for name in ("RCC", "LCC", "RMLO", "LMLO"):
        expected[name] = str(pydicom.dcmread(DEMO_CURRENT / f"{name}.dcm", stop_before_pixels=True).SOPInstanceUID)
    shown = {v["label"]: v["sop_instance_uid"] for v in first_stage["viewports"]}
    assert shown == expected
