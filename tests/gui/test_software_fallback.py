"""Without OpenGL the viewer falls back to the numpy renderer and says so."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from mammo_workstation.gui.app import create_main_window
from mammo_workstation.gui.viewport import SoftwareViewport
from mammo_workstation.pipeline import reference
from mammo_workstation.render.offscreen import qimage_to_array
from tests.conftest import DEMO_CURRENT


def test_software_rendering_is_announced_and_matches_reference(qtbot) -> None:
    window = create_main_window(force_software=True)
    qtbot.addWidget(window)
    window.resize(900, 700)
    window.show()
    assert "Software rendering" in window.statusBar().currentMessage()
    with qtbot.waitSignal(window.reading_view.all_loaded, timeout=120_000):
        window.open_paths([DEMO_CURRENT / "RCC.dcm"])
    viewport = window.reading_view.viewports[0]
    assert isinstance(viewport, SoftwareViewport)
    # A JPEG 2000 image shows a reduced-resolution decode first; compare the full one.
    qtbot.waitUntil(lambda: not getattr(viewport.display_image, "is_reduced", False), timeout=120_000)
    viewport.one_to_one()
    # A right breast alone still touches the right edge with its chest wall.
    right_edge = viewport.camera.offset_x + viewport.display_image.size[0] * viewport.camera.scale
    assert abs(right_edge - viewport.width()) <= 1
    shown = qimage_to_array(viewport.grab().toImage().convertToFormat(QImage.Format.Format_RGB888))[..., 0]
    image = viewport.display_image
    expected = reference.render_uint8(viewport.pipeline, image.pixels)
    # At 1:1 with whole-pixel offsets, screen pixel (x, y) shows image pixel (x - ox, y - oy).
    left, top = int(viewport.camera.offset_x), int(viewport.camera.offset_y)
    rows = slice(max(top, 0) + 100, max(top, 0) + 300)
    columns = slice(max(left, 0) + 20, min(shown.shape[1], left + image.size[0]) - 20)
    image_rows = slice(rows.start - top, rows.stop - top)
    image_columns = slice(columns.start - left, columns.stop - left)
    difference = np.abs(shown[rows, columns].astype(int) - expected[image_rows, image_columns].astype(int))
    assert difference.size > 10_000
    assert difference.max() <= 1
