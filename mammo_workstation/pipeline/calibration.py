"""Pixel spacing for measurements and true-size display (PS3.3 10.7.1).

A projection radiograph has up to three spacings. Imager Pixel Spacing (0018,1164) is measured
at the detector, where the breast's shadow is magnified by the beam's divergence. Estimated
Radiographic Magnification Factor (0018,1114) is the source-to-detector over source-to-object
distance; Imager Pixel Spacing divided by it gives the spacing in the plane of the breast.
Pixel Spacing (0028,0030), when present and different from Imager Pixel Spacing, was
calibrated by the modality to some plane of the patient (PS3.3 10.7.1.1), and wins.

Every spacing is (row spacing, column spacing) in mm: the distance between the centres of
adjacent rows, then of adjacent columns.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from enum import StrEnum

from pydicom.dataset import Dataset

logger = logging.getLogger(__name__)


class CalibrationKind(StrEnum):
    """The spacing a measurement used; the value is the text the distance label shows."""

    CALIBRATED = "calibrated"
    MAGNIFICATION_CORRECTED = "magnification corrected"
    DETECTOR = "detector plane"
    UNCALIBRATED = "uncalibrated"


@dataclass(frozen=True)
class PixelCalibration:
    """The spacing in mm of one image and where it came from.

    ``spacing`` is None when uncalibrated; distances are then in pixels.
    """

    kind: CalibrationKind
    spacing: tuple[float, float] | None = None
    magnification: float | None = None

    @property
    def calibrated(self) -> bool:
        return self.spacing is not None

    def distance(self, dx_pixels: float, dy_pixels: float) -> float:
        """Length of an image vector (columns, rows) in mm, or in pixels when uncalibrated."""
        if self.spacing is None:
            return math.hypot(dx_pixels, dy_pixels)
        row_spacing, column_spacing = self.spacing
        return math.hypot(dx_pixels * column_spacing, dy_pixels * row_spacing)

    def format_distance(self, dx_pixels: float, dy_pixels: float) -> str:
        """``"12.3 mm (detector plane)"`` or ``"245 px (uncalibrated)"``."""
        value = self.distance(dx_pixels, dy_pixels)
        if self.spacing is None:
            return f"{value:.0f} px ({self.kind.value})"
        return f"{value:.1f} mm ({self.kind.value})"

    @property
    def mm_per_pixel(self) -> float | None:
        """The horizontal spacing (mm per column), the one true-size display scales by."""
        return None if self.spacing is None else self.spacing[1]


def pixel_calibration(attributes: Dataset, *, correct_magnification: bool = True) -> PixelCalibration:
    """Choose the spacing for measurements from one frame's attributes (PS3.3 10.7.1.1).

    Pass :func:`mammo_workstation.pipeline.frames.frame_attributes` for a multi-frame object,
    where Pixel Spacing sits in the Pixel Measures functional group.
    ``correct_magnification`` divides Imager Pixel Spacing by the Estimated Radiographic
    Magnification Factor when the file gives one.
    """
    pixel_spacing = _spacing(attributes, "PixelSpacing")
    imager_spacing = _spacing(attributes, "ImagerPixelSpacing")
    magnification = _magnification(attributes)
    if pixel_spacing is not None and (imager_spacing is None or not _same(pixel_spacing, imager_spacing)):
        return PixelCalibration(CalibrationKind.CALIBRATED, pixel_spacing)
    detector = imager_spacing or pixel_spacing
    if detector is None:
        return PixelCalibration(CalibrationKind.UNCALIBRATED)
    if correct_magnification and magnification is not None:
        corrected = (detector[0] / magnification, detector[1] / magnification)
        return PixelCalibration(CalibrationKind.MAGNIFICATION_CORRECTED, corrected, magnification)
    return PixelCalibration(CalibrationKind.DETECTOR, detector)


def _spacing(attributes: Dataset, keyword: str) -> tuple[float, float] | None:
    value = attributes.get(keyword)
    if value is None or value == "":
        return None
    try:
        numbers = [float(v) for v in value]
    except (TypeError, ValueError):
        logger.warning("Ignored %s %r: expected two numbers in mm", keyword, value)
        return None
    if len(numbers) != 2 or min(numbers) <= 0:
        logger.warning("Ignored %s %r: expected two positive numbers in mm", keyword, value)
        return None
    return numbers[0], numbers[1]


def _magnification(attributes: Dataset) -> float | None:
    value = attributes.get("EstimatedRadiographicMagnificationFactor")
    if value is None or value == "":
        return None
    try:
        factor = float(value)
    except (TypeError, ValueError):
        logger.warning("Ignored Estimated Radiographic Magnification Factor %r: not a number", value)
        return None
    if factor < 1.0 or factor > 10.0:
        # The factor is source-detector over source-object distance, so at least 1.
        logger.warning("Ignored Estimated Radiographic Magnification Factor %s: outside 1..10", factor)
        return None
    return factor


def _same(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return all(math.isclose(x, y, rel_tol=1e-4) for x, y in zip(a, b, strict=True))


# -- True size and same size -------------------------------------------------------------------


def screen_mm_per_pixel(physical_width_mm: float, width_pixels: int, calibration: float = 1.0) -> float:
    """Size of one screen pixel in mm from the screen's physical size.

    ``calibration`` corrects a wrong size reported by the monitor: measure a line shown as
    100 mm with a ruler and pass measured / 100.
    """
    if physical_width_mm <= 0 or width_pixels <= 0:
        raise ValueError(
            f"screen size {physical_width_mm} mm over {width_pixels} px is unusable; "
            "set the screen calibration in the settings"
        )
    return physical_width_mm / width_pixels * calibration


def true_size_scale(calibration: PixelCalibration, screen_mm: float) -> float | None:
    """Screen pixels per image pixel so that 1 mm in the image is 1 mm on the screen.

    ``screen_mm`` is the size of a screen pixel (:func:`screen_mm_per_pixel`). None when the
    image is uncalibrated.
    """
    spacing = calibration.mm_per_pixel
    if spacing is None:
        return None
    return spacing / screen_mm


def same_size_scales(
    calibrations: list[PixelCalibration], reference_scale: float, reference_index: int = 0
) -> list[float]:
    """Scales that show every image at the mm per screen pixel of the reference image.

    Images from detectors with different pixel sizes then show the breast at the same size.
    An uncalibrated image keeps ``reference_scale``; an uncalibrated reference makes all
    scales ``reference_scale``.
    """
    reference = calibrations[reference_index].mm_per_pixel
    if reference is None:
        return [reference_scale] * len(calibrations)
    screen_mm = reference / reference_scale
    return [
        reference_scale if spacing is None else spacing / screen_mm
        for spacing in (c.mm_per_pixel for c in calibrations)
    ]
