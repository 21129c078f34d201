"""The viewport tools on a software viewport with a constructed image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage

from mammo_workstation.dicom.decode import DecodedFrame
from mammo_workstation.gui.tools import (
    install_distance_tool,
    install_for_processing_marker,
    install_magnifier,
    install_overlay_planes,
)
from mammo_workstation.gui.tools.sizing import show_same_size, show_true_size, widget_pixel_mm
from mammo_workstation.gui.viewport import SoftwareViewport
from mammo_workstation.pipeline import reference
from mammo_workstation.pipeline.geometry import DisplayTransform
from mammo_workstation.pipeline.image import DisplayImage, display_image_from
from mammo_workstation.render.camera import Camera


def constructed_image(columns: int = 200, rows: int = 100, **attributes: object) -> DisplayImage:
    ds = Dataset()
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated, ds.BitsStored, ds.PixelRepresentation = 16, 12, 0
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    pixels = (np.arange(rows * columns).reshape(rows, columns) * 7 % 4096).astype(np.uint16)
    return display_image_from(Path("constructed.dcm"), ds, DecodedFrame(pixels, 12, False, "MONOCHROME2"))


@pytest.fixture
def viewport(qtbot):
    widget = SoftwareViewport()
    qtbot.addWidget(widget)
    widget.resize(400, 200)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def show(viewport: SoftwareViewport, image: DisplayImage, camera: Camera) -> None:
    viewport.set_image(image, DisplayTransform())
    viewport.set_camera(camera)


def grab(viewport: SoftwareViewport) -> QImage:
    return viewport.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)


# -- distance ---------------------------------------------------------------------------------


def test_distance_label_detector_plane(qtbot, viewport) -> None:
    show(viewport, constructed_image(ImagerPixelSpacing=[0.1, 0.1]), Camera(2.0, 0.0, 0.0))
    tool = install_distance_tool(viewport)
    tool.active = True
    # Screen (20, 20) to (80, 100) at scale 2 is image (10, 10) to (40, 50): 30 x 40 px, 50 px.
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=QPoint(20, 20))
    qtbot.mouseMove(viewport, QPoint(80, 100))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=QPoint(80, 100))
    assert len(tool.measurements) == 1
    assert tool.label(tool.measurements[0], viewport) == "5.0 mm (detector plane)"


def test_distance_label_magnification_corrected(viewport) -> None:
    show(viewport, constructed_image(ImagerPixelSpacing=[0.1, 0.1],
                                     EstimatedRadiographicMagnificationFactor=2.0), Camera())
    tool = install_distance_tool(viewport)
    from mammo_workstation.gui.tools.distance import Measurement

    tool.measurements.append(Measurement((0.0, 0.0), (30.0, 40.0)))
    assert tool.label(tool.measurements[0], viewport) == "2.5 mm (magnification corrected)"
    tool.correct_magnification = False
    assert tool.label(tool.measurements[0], viewport) == "5.0 mm (detector plane)"


def test_distance_uncalibrated_in_pixels(viewport) -> None:
    show(viewport, constructed_image(), Camera())
    tool = install_distance_tool(viewport)
    from mammo_workstation.gui.tools.distance import Measurement

    tool.measurements.append(Measurement((0.0, 0.0), (3.0, 4.0)))
    assert tool.label(tool.measurements[0], viewport) == "5 px (uncalibrated)"


def test_distance_inactive_lets_pan(qtbot, viewport) -> None:
    show(viewport, constructed_image(), Camera())
    tool = install_distance_tool(viewport)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=QPoint(20, 20))
    qtbot.mouseMove(viewport, QPoint(30, 20))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=QPoint(30, 20))
    assert tool.measurements == []
    assert viewport.camera.offset_x == pytest.approx(10.0)


# -- magnifier --------------------------------------------------------------------------------


def test_magnifier_shows_pipeline_at_own_zoom(viewport) -> None:
    image = constructed_image()
    show(viewport, image, Camera(1.0, 0.0, 0.0))
    tool = install_magnifier(viewport, size=40, zoom=4.0)
    tool.active = True
    tool.position = (100.0, 50.0)
    lens = tool.lens_image(viewport)
    assert lens is not None and (lens.width(), lens.height()) == (40, 40)
    expected = reference.render_uint8(viewport.pipeline, image.pixels)
    # Lens pixel (20, 20) is the cursor; 4 lens pixels cover one screen pixel at zoom 4.
    assert QColor(lens.pixel(20, 20)).red() == expected[50, 100]
    assert QColor(lens.pixel(24, 20)).red() == expected[50, 101]
    assert QColor(lens.pixel(20, 16)).red() == expected[49, 100]


def test_magnifier_resize_and_zoom_limits() -> None:
    from mammo_workstation.gui.tools.magnifier import MAX_SIZE, MIN_ZOOM, MagnifierTool

    tool = MagnifierTool(size=240, zoom=2.0)
    tool.resize_by(1.5)
    assert tool.size == 360
    tool.resize_by(100)
    assert tool.size == MAX_SIZE
    tool.zoom_by(0.01)
    assert tool.zoom == MIN_ZOOM


def test_magnifier_follows_cursor(qtbot, viewport) -> None:
    show(viewport, constructed_image(), Camera())
    tool = install_magnifier(viewport)
    tool.active = True
    qtbot.mouseMove(viewport, QPoint(120, 60))
    qtbot.waitUntil(lambda: tool.position == (120.0, 60.0))


# -- overlay planes ---------------------------------------------------------------------------


def _with_overlay(image: DisplayImage, origin: list[int]) -> None:
    bits = np.zeros((10, 10), dtype=bool)
    bits[:, :] = True
    ds = image.dataset
    ds.add_new(0x60000010, "US", 10)
    ds.add_new(0x60000011, "US", 10)
    ds.add_new(0x60000050, "SS", origin)
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    packed = np.packbits(bits.astype(np.uint8).ravel(), bitorder="little").tobytes()
    ds.add_new(0x60003000, "OW", packed + b"\0" * (len(packed) % 2))


def test_overlay_drawn_past_image_edge(viewport) -> None:
    image = constructed_image(columns=100, rows=50)
    _with_overlay(image, [-4, 96])  # 5 rows above the image, 5 columns past its right edge
    show(viewport, image, Camera(1.0, 50.0, 50.0))
    install_overlay_planes(viewport)
    frame = grab(viewport)
    overlay = QColor(255, 255, 120)
    # Image pixel (row -5, column 95) lands at screen (145, 45); (row 4, column 104) at (154, 54).
    assert QColor(frame.pixel(145, 45)) == overlay
    assert QColor(frame.pixel(154, 54)) == overlay
    assert QColor(frame.pixel(160, 45)) != overlay


# -- FOR PROCESSING ---------------------------------------------------------------------------


def test_for_processing_banner(viewport) -> None:
    marker = install_for_processing_marker(viewport)
    show(viewport, constructed_image(PresentationIntentType="FOR PROCESSING"), Camera())
    assert marker.shown(viewport)
    banner = QColor(grab(viewport).pixel(200, 10))
    assert banner.red() > 3 * banner.green()
    show(viewport, constructed_image(PresentationIntentType="FOR PRESENTATION"), Camera())
    assert not marker.shown(viewport)


# -- true size and same size ------------------------------------------------------------------


def test_true_size_uses_screen_size(viewport) -> None:
    show(viewport, constructed_image(ImagerPixelSpacing=[0.1, 0.1]), Camera())
    assert show_true_size(viewport, calibration=1.0)
    screen_mm = widget_pixel_mm(viewport)
    # 10 image pixels are 1 mm and must cover 1 mm of screen.
    assert 10 * viewport.camera.scale * screen_mm == pytest.approx(1.0)
    show(viewport, constructed_image(), Camera())
    assert not show_true_size(viewport)


def test_same_size_across_detectors(qtbot) -> None:
    viewports = []
    for spacing in (0.1, 0.05):
        widget = SoftwareViewport()
        qtbot.addWidget(widget)
        widget.resize(300, 200)
        show(widget, constructed_image(ImagerPixelSpacing=[spacing, spacing]), Camera(0.5))
        viewports.append(widget)
    show_same_size(viewports)
    mm_per_screen_pixel = [0.1 / viewports[0].camera.scale, 0.05 / viewports[1].camera.scale]
    assert mm_per_screen_pixel[0] == pytest.approx(0.2)
    assert mm_per_screen_pixel[1] == pytest.approx(0.2)
