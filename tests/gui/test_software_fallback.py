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
    viewport.one_to_one()
    shown = qimage_to_array(viewport.grab().toImage().convertToFormat(QImage.Format.Format_RGB888))[..., 0]
    # At 1:1 and justified right, the rightmost image column sits at the viewport's right edge.
    image = viewport.display_image
    expected = reference.render_uint8(viewport.pipeline, image.pixels)
    top = round(viewport.camera.offset_y)
    rows = slice(max(top, 0) + 100, max(top, 0) + 300)
    columns = slice(shown.shape[1] - 200, shown.shape[1] - 10)
    image_rows = slice(rows.start - top, rows.stop - top)
    image_columns = slice(image.size[0] - 200, image.size[0] - 10)
    difference = np.abs(shown[rows, columns].astype(int) - expected[image_rows, image_columns].astype(int))
    assert difference.max() <= 1
