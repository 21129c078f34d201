"""The reading window on the demo exam: layout, orientation, labels and interactions."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QWheelEvent
from PySide6.QtWidgets import QApplication

from mammo_workstation.gui.capture import capture_widget
from mammo_workstation.gui.viewport import GLViewport
from mammo_workstation.render.offscreen import qimage_to_array
from tests.conftest import DEMO_CURRENT


@pytest.fixture
def demo_window(main_window, qtbot):
    with qtbot.waitSignal(main_window.reading_view.all_loaded, timeout=120_000):
        main_window.open_paths([DEMO_CURRENT])
    qtbot.waitUntil(lambda: all(v.display_image is not None for v in main_window.reading_view.viewports))
    return main_window


def _tissue_columns(image: np.ndarray) -> np.ndarray:
    """Columns holding breast tissue: more than 5 % of their pixels brighter than 40 of 255."""
    return (image > 40).mean(axis=0) > 0.05


def test_uses_gpu_under_xvfb(demo_window) -> None:
    assert demo_window.renderer_note.startswith("GPU rendering")
    assert all(isinstance(v, GLViewport) for v in demo_window.reading_view.viewports)


def test_labels_match_views(demo_window) -> None:
    views = demo_window.reading_view.viewports
    assert [v.spec.label for v in views] == ["RCC", "LCC", "RMLO", "LMLO"]
    assert [v.overlay_lines["title"][0] for v in views] == ["RCC", "LCC", "RMLO", "LMLO"]
    for viewport in views:
        assert viewport.overlay_lines["patient"] == ["DEMO ALPHA", "ID DEMO-0001"]


def test_breasts_touch_the_centre_line(demo_window) -> None:
    """Right images touch their right edge and left images their left edge: back to back."""
    view = demo_window.reading_view
    for viewport in view.viewports:
        framebuffer = viewport.grabFramebuffer().convertToFormat(QImage.Format.Format_RGB888)
        pixels = qimage_to_array(framebuffer)[..., 0]
        tissue = _tissue_columns(pixels[40:-40])  # skip the corner text rows
        edge = tissue[-3:] if viewport.spec.label.startswith("R") else tissue[:3]
        assert edge.all(), f"{viewport.spec.label}: no tissue at the chest-wall edge"
    whole = qimage_to_array(capture_widget(view).convertToFormat(QImage.Format.Format_RGB888))[..., 0]
    centre = whole.shape[1] // 2
    assert _tissue_columns(whole[:, centre - 2 : centre + 2]).all()


def test_wheel_zooms_around_cursor(demo_window, qtbot) -> None:
    viewport = demo_window.reading_view.viewports[0]
    anchor = QPointF(200.0, 150.0)
    before = viewport.screen_to_image(anchor.x(), anchor.y())
    scale = viewport.camera.scale
    event = QWheelEvent(anchor, viewport.mapToGlobal(anchor), QPoint(), QPoint(0, 120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewport, event)
    assert viewport.camera.scale == pytest.approx(scale * 1.15)
    assert viewport.screen_to_image(anchor.x(), anchor.y()) == pytest.approx(before)


def test_left_drag_pans_and_right_drag_windows(demo_window, qtbot) -> None:
    viewport = demo_window.reading_view.viewports[1]
    camera = viewport.camera
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    qtbot.mouseMove(viewport, QPoint(130, 110))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=QPoint(130, 110))
    assert viewport.camera.offset_x == pytest.approx(camera.offset_x + 30)
    assert viewport.camera.offset_y == pytest.approx(camera.offset_y + 10)
    window = viewport.pipeline.window
    qtbot.mousePress(viewport, Qt.MouseButton.RightButton, pos=QPoint(100, 100))
    qtbot.mouseMove(viewport, QPoint(160, 80))
    qtbot.mouseRelease(viewport, Qt.MouseButton.RightButton, pos=QPoint(160, 80))
    assert viewport.pipeline.window.width > window.width
    assert viewport.pipeline.window.center < window.center
    assert viewport.pipeline.window.function == window.function


def test_keys_fit_one_to_one_invert_and_presets(demo_window, qtbot) -> None:
    # Window shortcuts fire only in the active window; Xvfb has no window manager to give focus.
    demo_window.activateWindow()
    qtbot.waitUntil(demo_window.isActiveWindow, timeout=5000)
    views = demo_window.reading_view.viewports
    qtbot.keyClick(demo_window, Qt.Key.Key_O)
    assert all(v.camera.scale == pytest.approx(1.0) for v in views)
    qtbot.keyClick(demo_window, Qt.Key.Key_F)
    assert all(v.fitted and v.camera.scale < 0.2 for v in views)
    qtbot.keyClick(demo_window, Qt.Key.Key_I)
    assert all(v.pipeline.invert for v in views)
    qtbot.keyClick(demo_window, Qt.Key.Key_2)
    harder = [v.display_image.presets[1].window for v in views]
    assert [v.pipeline.window for v in views] == harder
    assert all(v.pipeline.invert for v in views), "a preset keeps the user's inversion"
    qtbot.keyClick(demo_window, Qt.Key.Key_R)
    assert all(v.pipeline == v.display_image.pipeline for v in views)


def test_missing_view_leaves_labelled_empty_viewport(main_window, qtbot, tmp_path) -> None:
    for name in ("RCC.dcm", "LCC.dcm", "RMLO.dcm"):
        (tmp_path / name).write_bytes((DEMO_CURRENT / name).read_bytes())
    (tmp_path / "broken.dcm").write_bytes(b"DICM but not really")
    with qtbot.waitSignal(main_window.reading_view.all_loaded, timeout=120_000):
        main_window.open_paths([tmp_path])
    lmlo = main_window.reading_view.viewports[3]
    assert lmlo.display_image is None
    assert "LMLO" in lmlo.empty_text and "not in this study" in lmlo.empty_text
    assert main_window._problems.count() == 1
    assert "broken.dcm" in main_window._problems.item(0).text()


def test_distance_key_measures_in_millimetres(demo_window, qtbot) -> None:
    demo_window.activateWindow()
    qtbot.waitUntil(demo_window.isActiveWindow, timeout=5000)
    qtbot.keyClick(demo_window, Qt.Key.Key_D)
    viewport = demo_window.reading_view.viewports[0]
    assert viewport.distance_tool.active
    scale = viewport.camera.scale
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    qtbot.mouseMove(viewport, QPoint(200, 100))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=QPoint(200, 100))
    assert len(viewport.distance_tool.measurements) == 1
    label = viewport.distance_tool.label(viewport.distance_tool.measurements[0], viewport)
    # 100 screen pixels at this zoom span 100 / scale image pixels of 0.05 mm (Imager Pixel Spacing).
    expected_mm = 100 / scale * 0.05
    assert label.startswith(f"{expected_mm:.1f} mm"), label
    qtbot.keyClick(demo_window, Qt.Key.Key_D)
    assert not viewport.distance_tool.active
    assert not viewport.distance_tool.measurements
