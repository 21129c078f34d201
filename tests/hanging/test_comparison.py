"""Same-size scaling from the calibration, and pan and zoom followed across a sync group."""

from __future__ import annotations

import pydicom
import pytest

from mammo_workstation.hanging.comparison import (
    SizedImage,
    follow_camera,
    mm_per_pixel,
    same_size_cameras,
)
from mammo_workstation.hanging.layout import Justify
from mammo_workstation.hanging.protocol import SyncProperty
from mammo_workstation.render.camera import Camera
from tests.conftest import DEMO_CURRENT

BOTH = frozenset({SyncProperty.PAN, SyncProperty.ZOOM})


def test_mm_per_pixel_from_imager_pixel_spacing() -> None:
    header = pydicom.dcmread(DEMO_CURRENT / "RCC.dcm", stop_before_pixels=True)
    spacing = [float(v) for v in header.ImagerPixelSpacing]
    factor = float(header.EstimatedRadiographicMagnificationFactor)
    assert mm_per_pixel(header) == pytest.approx(spacing[1] / factor)
    header.EstimatedRadiographicMagnificationFactor = "1.25"
    assert mm_per_pixel(header) == pytest.approx(spacing[1] / 1.25)
    header.PixelSpacing = [0.1, 0.2]
    assert mm_per_pixel(header) == pytest.approx(0.2), "calibrated Pixel Spacing wins"
    assert mm_per_pixel(header, rotation=90) == pytest.approx(0.1)
    del header.PixelSpacing, header.ImagerPixelSpacing
    assert mm_per_pixel(header) is None


def test_same_size_gives_equal_mm_per_screen_pixel() -> None:
    images = [
        SizedImage((2864, 4560), (600, 400), Justify.RIGHT, 0.05),
        SizedImage((2592, 4688), (600, 400), Justify.LEFT, 0.05),
        SizedImage((1200, 1200), (600, 400), Justify.LEFT, 0.1),
        SizedImage((500, 500), (600, 400), Justify.CENTER, None),
    ]
    cameras = same_size_cameras(images)
    assert cameras[3] is None
    screen_per_mm = [c.scale / i.mm_per_pixel for c, i in zip(cameras[:3], images[:3], strict=True)]
    assert screen_per_mm == pytest.approx([400 / 4688 / 0.05] * 3), "the tallest image sets the scale"
    assert cameras[0].offset_x == pytest.approx(600 - 2864 * cameras[0].scale), "right justified"
    assert cameras[1].offset_x == 0.0


def test_pan_is_mirrored_across_the_centre_line() -> None:
    old, new = Camera(0.1, 10, 20), Camera(0.1, 40, 25)
    target = Camera(0.1, 100, 0)
    assert follow_camera(old, new, target, BOTH, False, 500) == Camera(0.1, 130, 5)
    assert follow_camera(old, new, target, BOTH, True, 500) == Camera(0.1, 70, 5)
    assert follow_camera(old, new, target, frozenset({SyncProperty.ZOOM}), False, 500) == target


def test_zoom_keeps_the_mirrored_anchor() -> None:
    old = Camera(0.1, 0, 0)
    new = old.zoomed(2.0, 100, 50)
    target = Camera(0.1, 300, 0)
    followed = follow_camera(old, new, target, BOTH, True, 500)
    assert followed == target.zoomed(2.0, 400, 50)
    assert follow_camera(old, new, target, frozenset({SyncProperty.PAN}), True, 500) == target
