"""Pixel spacing choice, distances and true-size scales (PS3.3 10.7.1)."""

from __future__ import annotations

import math

import pytest
from pydicom.dataset import Dataset

from mammo_workstation.dicom.model import CodedView, Instance, Laterality, PresentationIntent
from mammo_workstation.pipeline.annotation import Side, chest_wall_side, identification_side
from mammo_workstation.pipeline.calibration import (
    CalibrationKind,
    pixel_calibration,
    same_size_scales,
    screen_mm_per_pixel,
    true_size_scale,
)
from mammo_workstation.pipeline.geometry import DisplayTransform
from mammo_workstation.pipeline.intent import prefer_for_presentation


def header(**attributes: object) -> Dataset:
    ds = Dataset()
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    return ds


def test_imager_spacing_corrected_by_magnification() -> None:
    calibration = pixel_calibration(header(ImagerPixelSpacing=[0.1, 0.1],
                                           EstimatedRadiographicMagnificationFactor=1.25))
    assert calibration.kind is CalibrationKind.MAGNIFICATION_CORRECTED
    assert calibration.spacing == pytest.approx((0.08, 0.08))
    # 3-4-5 triangle in pixels: 50 px at 0.08 mm.
    assert calibration.distance(30, 40) == pytest.approx(4.0)
    assert calibration.format_distance(30, 40) == "4.0 mm (magnification corrected)"


def test_detector_plane_without_magnification() -> None:
    calibration = pixel_calibration(header(ImagerPixelSpacing=[0.05, 0.05]))
    assert calibration.kind is CalibrationKind.DETECTOR
    assert calibration.format_distance(100, 0) == "5.0 mm (detector plane)"
    uncorrected = pixel_calibration(header(ImagerPixelSpacing=[0.1, 0.1],
                                           EstimatedRadiographicMagnificationFactor=1.5),
                                    correct_magnification=False)
    assert uncorrected.kind is CalibrationKind.DETECTOR
    assert uncorrected.spacing == (0.1, 0.1)


def test_pixel_spacing_equal_to_imager_is_detector_plane() -> None:
    calibration = pixel_calibration(header(PixelSpacing=[0.1, 0.1], ImagerPixelSpacing=[0.1, 0.1]))
    assert calibration.kind is CalibrationKind.DETECTOR


def test_pixel_spacing_different_from_imager_wins() -> None:
    calibration = pixel_calibration(header(PixelSpacing=[0.085, 0.085], ImagerPixelSpacing=[0.1, 0.1],
                                           EstimatedRadiographicMagnificationFactor=1.1))
    assert calibration.kind is CalibrationKind.CALIBRATED
    assert calibration.spacing == (0.085, 0.085)


def test_row_and_column_spacing_apply_to_their_axes() -> None:
    # Pixel Spacing is row spacing (vertical) then column spacing (horizontal).
    calibration = pixel_calibration(header(PixelSpacing=[0.2, 0.1]))
    assert calibration.distance(10, 0) == pytest.approx(1.0)
    assert calibration.distance(0, 10) == pytest.approx(2.0)


def test_uncalibrated_measures_pixels() -> None:
    calibration = pixel_calibration(header())
    assert calibration.kind is CalibrationKind.UNCALIBRATED
    assert calibration.format_distance(3, 4) == "5 px (uncalibrated)"


def test_invalid_magnification_ignored() -> None:
    calibration = pixel_calibration(header(ImagerPixelSpacing=[0.1, 0.1],
                                           EstimatedRadiographicMagnificationFactor=0.5))
    assert calibration.kind is CalibrationKind.DETECTOR


def test_true_size_scale() -> None:
    # A 527 mm wide screen with 2560 pixels; image pixels of 0.1 mm.
    screen_mm = screen_mm_per_pixel(527.0, 2560)
    calibration = pixel_calibration(header(ImagerPixelSpacing=[0.1, 0.1]))
    scale = true_size_scale(calibration, screen_mm)
    assert scale is not None
    # 100 mm in the image is 1000 image pixels, which must cover 100 mm of screen.
    assert 1000 * scale * screen_mm == pytest.approx(100.0)
    # A ruler showed 100 mm as 98 mm: the calibration factor corrects the screen size.
    assert screen_mm_per_pixel(527.0, 2560, 0.98) == pytest.approx(527.0 / 2560 * 0.98)
    with pytest.raises(ValueError, match="screen calibration"):
        screen_mm_per_pixel(0.0, 2560)


def test_same_size_across_detectors() -> None:
    calibrations = [pixel_calibration(header(ImagerPixelSpacing=[0.1, 0.1])),
                    pixel_calibration(header(ImagerPixelSpacing=[0.07, 0.07])),
                    pixel_calibration(header())]
    scales = same_size_scales(calibrations, reference_scale=0.2)
    # 1 mm is 10 px at 0.1 mm and 1/0.07 px at 0.07 mm; on screen both must be 2 px.
    assert 10 * scales[0] == pytest.approx(2.0)
    assert (1 / 0.07) * scales[1] == pytest.approx(2.0)
    assert scales[2] == 0.2


@pytest.mark.parametrize(
    ("orientation", "transform", "laterality", "wall", "text"),
    [
        (("P", "L"), DisplayTransform(), "R", Side.RIGHT, Side.LEFT),  # R CC as stored
        (("A", "R"), DisplayTransform(), "L", Side.LEFT, Side.RIGHT),  # L CC as stored
        (("A", "R"), DisplayTransform(0, True), "L", Side.RIGHT, Side.LEFT),  # flipped
        (("P", "FL"), DisplayTransform(), "R", Side.RIGHT, Side.LEFT),  # oblique R MLO
        (None, DisplayTransform(), "L", Side.LEFT, Side.RIGHT),
        (None, DisplayTransform(), None, None, Side.LEFT),
    ],
)
def test_identification_away_from_chest_wall(
    orientation: tuple[str, str] | None, transform: DisplayTransform, laterality: str | None,
    wall: Side | None, text: Side,
) -> None:
    assert chest_wall_side(orientation, transform, laterality) is wall
    assert identification_side(orientation, transform, laterality) is text


def instance(uid: str, laterality: str, view: str, intent: PresentationIntent | None) -> Instance:
    from pathlib import Path

    return Instance(Path(uid), uid, "1.2.840.10008.5.1.4.1.1.1.2", "series", "study", "P", "N", "MG",
                    "1.2.840.10008.1.2.1", laterality=Laterality(laterality), view=CodedView(view),
                    presentation_intent=intent)


def test_for_presentation_preferred_per_view() -> None:
    presentation = instance("a", "R", "CC", PresentationIntent.FOR_PRESENTATION)
    processing = instance("b", "R", "CC", PresentationIntent.FOR_PROCESSING)
    processing_only = instance("c", "L", "CC", PresentationIntent.FOR_PROCESSING)
    kept = prefer_for_presentation([processing, presentation, processing_only])
    assert [i.sop_instance_uid for i in kept] == ["a", "c"]
    assert math.isclose(len(kept), 2)
