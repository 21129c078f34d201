"""Comparison display without Qt: same-size scaling and synchronized pan and zoom.

Same size means equal millimetres per screen pixel in every viewport of a stage, so a lesion
of 10 mm covers the same screen distance on the current and on the prior image.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from pydicom.dataset import Dataset

from mammo_workstation.hanging.layout import Justify
from mammo_workstation.hanging.protocol import SyncProperty
from mammo_workstation.render.camera import Camera, fit_camera, placed_camera

logger = logging.getLogger(__name__)


def mm_per_pixel(attributes: Dataset, rotation: int = 0) -> float | None:
    """Screen-horizontal pixel spacing in mm in the plane of the breast, or None when uncalibrated.

    Uses :mod:`mammo_workstation.pipeline.calibration` when it is installed. Without it, Pixel
    Spacing (0028,0030) is used when present, else Imager Pixel Spacing (0018,1164) divided by
    Estimated Radiographic Magnification Factor (0018,1114) (PS3.3 10.7.1.1). A quarter-turn
    ``rotation`` makes the row spacing the horizontal one.
    """
    spacing = _calibrated_spacing(attributes)
    if spacing is None:
        return None
    row_spacing, column_spacing = spacing
    return row_spacing if rotation // 90 % 2 else column_spacing


def _calibrated_spacing(attributes: Dataset) -> tuple[float, float] | None:
    try:
        from mammo_workstation.pipeline.calibration import pixel_calibration
    except ImportError:
        return _fallback_spacing(attributes)
    return pixel_calibration(attributes).spacing


def _fallback_spacing(attributes: Dataset) -> tuple[float, float] | None:
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        try:
            values = [float(v) for v in attributes.get(keyword) or []]
        except (TypeError, ValueError):
            continue
        if len(values) != 2 or min(values) <= 0:
            continue
        factor = 1.0
        if keyword == "ImagerPixelSpacing":
            try:
                factor = float(attributes.get("EstimatedRadiographicMagnificationFactor") or 1.0)
            except (TypeError, ValueError):
                factor = 1.0
            factor = factor if factor >= 1.0 else 1.0
        return values[0] / factor, values[1] / factor
    return None


@dataclass(frozen=True)
class SizedImage:
    """The sizes and pixel spacing of one viewport's image, as same-size scaling needs them."""

    displayed_size: tuple[int, int]  # (width, height) in image pixels after rotation
    viewport_size: tuple[int, int]  # (width, height) in screen pixels
    justify: Justify
    mm_per_pixel: float | None


def same_size_cameras(images: Sequence[SizedImage]) -> list[Camera | None]:
    """Cameras showing every calibrated image at the same mm per screen pixel.

    The common scale is the largest at which every image still fits its viewport. An
    uncalibrated image gets None: the caller keeps it fitted on its own.
    """
    screen_pixels_per_mm = []
    for image in images:
        if image.mm_per_pixel is None:
            continue
        fit = fit_camera(image.displayed_size, image.viewport_size, image.justify)
        screen_pixels_per_mm.append(fit.scale / image.mm_per_pixel)
    if not screen_pixels_per_mm:
        return [None] * len(images)
    common = min(screen_pixels_per_mm)
    return [
        None if image.mm_per_pixel is None
        else placed_camera(common * image.mm_per_pixel, image.displayed_size, image.viewport_size, image.justify)
        for image in images
    ]


def follow_camera(
    old: Camera,
    new: Camera,
    target: Camera,
    properties: frozenset[SyncProperty],
    mirrored: bool,
    target_width: float,
) -> Camera:
    """Apply the change from ``old`` to ``new`` in one viewport to ``target`` in another.

    A zoom is repeated by the same factor around the same screen point, a pan by the same
    screen distance. When ``mirrored`` (the two viewports are justified to opposite edges,
    as right and left breasts are), the point and the horizontal pan are mirrored, so both
    images move toward or away from the chest wall together.
    """
    factor = new.scale / old.scale if old.scale else 1.0
    if abs(factor - 1.0) > 1e-9:
        if SyncProperty.ZOOM not in properties:
            return target
        anchor_x = (new.offset_x - factor * old.offset_x) / (1.0 - factor)
        anchor_y = (new.offset_y - factor * old.offset_y) / (1.0 - factor)
        if mirrored:
            anchor_x = target_width - anchor_x
        return target.zoomed(factor, anchor_x, anchor_y)
    if SyncProperty.PAN not in properties:
        return target
    dx, dy = new.offset_x - old.offset_x, new.offset_y - old.offset_y
    return target.panned(-dx if mirrored else dx, dy)


def opposite(first: Justify, second: Justify) -> bool:
    return {first, second} == {Justify.LEFT, Justify.RIGHT}
