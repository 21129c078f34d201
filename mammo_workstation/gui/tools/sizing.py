"""True-size and same-size display (PS3.3 10.7.1 spacing, the screen's physical size)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mammo_workstation.gui.tools.common import current_attributes
from mammo_workstation.hanging.layout import Justify
from mammo_workstation.pipeline.calibration import (
    PixelCalibration,
    pixel_calibration,
    same_size_scales,
    screen_mm_per_pixel,
    true_size_scale,
)
from mammo_workstation.render.camera import placed_camera


def widget_pixel_mm(widget: Any, calibration: float = 1.0) -> float:
    """Size in mm of one logical pixel of the screen the widget is on.

    ``calibration`` is the screen calibration setting: measured length over shown length of
    a ruler line, for monitors that report a wrong physical size.
    """
    screen = widget.screen()
    return screen_mm_per_pixel(screen.physicalSize().width(), screen.geometry().width(), calibration)


def viewport_calibration(viewport: Any) -> PixelCalibration | None:
    attributes = current_attributes(viewport)
    return None if attributes is None else pixel_calibration(attributes)


def show_true_size(viewport: Any, calibration: float = 1.0) -> bool:
    """Zoom so that 1 mm in the image is 1 mm on the screen; False when uncalibrated."""
    pixel = viewport_calibration(viewport)
    if pixel is None:
        return False
    scale = true_size_scale(pixel, widget_pixel_mm(viewport, calibration))
    if scale is None:
        return False
    _place(viewport, scale)
    return True


def show_same_size(viewports: Sequence[Any], reference_index: int = 0) -> None:
    """Zoom every viewport to the mm per screen pixel of the reference viewport.

    Images from detectors with different pixel sizes then show the breast at the same size;
    an uncalibrated image keeps the reference's scale.
    """
    shown = [v for v in viewports if v.display_image is not None]
    if not shown:
        return
    reference = viewports[reference_index] if viewports[reference_index] in shown else shown[0]
    calibrations = [pixel_calibration(current_attributes(v)) for v in shown]
    scales = same_size_scales(calibrations, reference.camera.scale, shown.index(reference))
    for viewport, scale in zip(shown, scales, strict=True):
        _place(viewport, scale)


def _place(viewport: Any, scale: float) -> None:
    spec = getattr(viewport, "spec", None)
    justify = spec.justify if spec is not None else Justify.CENTER
    viewport.set_camera(placed_camera(scale, viewport.displayed_image_size(), viewport.viewport_size(), justify))
