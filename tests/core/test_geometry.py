"""Display orientation per IHE MAMMO, and the camera that places images in viewports."""

from __future__ import annotations

import numpy as np
import pytest

from mammo_workstation.dicom.loader import load_paths
from mammo_workstation.dicom.model import Laterality
from mammo_workstation.hanging.layout import SCREENING_4UP, Justify, place
from mammo_workstation.pipeline.geometry import DisplayTransform, display_transform
from mammo_workstation.render.camera import (
    Camera,
    fit_camera,
    image_to_screen,
    orientation_matrix,
    screen_to_image,
)
from tests.conftest import DEMO_CURRENT


@pytest.mark.parametrize(
    ("stored", "target", "expected"),
    [
        (("A", "R"), ("A", "R"), DisplayTransform(0, False)),  # left CC as IHE MAMMO wants it
        (("P", "L"), ("A", "R"), DisplayTransform(180, False)),  # right CC stored, shown as left
        (("P", "R"), ("A", "R"), DisplayTransform(0, True)),  # only the rows run the wrong way
        (("A", "FR"), ("A", "F"), DisplayTransform(0, False)),  # oblique: main letter F
        (("P", "FL"), ("A", "F"), DisplayTransform(0, True)),
        (("A", "HL"), ("A", "F"), DisplayTransform(180, True)),  # upside down: flip vertically
        (("F", "A"), ("A", "F"), DisplayTransform(90, True)),  # stored transposed
    ],
)
def test_display_transform_reaches_target(stored, target, expected) -> None:
    transform = display_transform(stored, target)
    assert transform == expected
    assert transform.apply(stored)[0] == target[0]
    assert transform.apply(stored)[1] == target[1][0]


def test_missing_orientation_shows_as_stored() -> None:
    assert display_transform(None, ("A", "R")) == DisplayTransform()
    assert display_transform(("CC", ""), ("A", "R")) == DisplayTransform()


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
@pytest.mark.parametrize("flip", [False, True])
def test_orientation_matrix_maps_corners_to_corners(rotation: int, flip: bool) -> None:
    width, height = 30, 20
    matrix = orientation_matrix(DisplayTransform(rotation, flip), width, height)
    corners = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], dtype=float)
    mapped = {tuple(np.round(matrix @ c)[:2]) for c in corners}
    shown_w, shown_h = (height, width) if rotation % 180 else (width, height)
    assert mapped == {(0, 0), (shown_w, 0), (0, shown_h), (shown_w, shown_h)}


def test_orientation_matrix_matches_numpy_rotation() -> None:
    """Pixel (x, y) lands where np.rot90 / np.fliplr put it."""
    image = np.arange(12).reshape(3, 4)
    for rotation, flip, reference in [
        (90, False, np.rot90(image, -1)),
        (180, False, np.rot90(image, 2)),
        (270, False, np.rot90(image, 1)),
        (0, True, np.fliplr(image)),
        (90, True, np.fliplr(np.rot90(image, -1))),
    ]:
        matrix = orientation_matrix(DisplayTransform(rotation, flip), 4, 3)
        for y in range(3):
            for x in range(4):
                shown = matrix @ np.array([x + 0.5, y + 0.5, 1.0])
                assert reference[int(shown[1]), int(shown[0])] == image[y, x]


@pytest.mark.parametrize(("justify", "left_edge"), [(Justify.LEFT, 0.0), (Justify.RIGHT, 600.0), (Justify.CENTER, 300.0)])
def test_fit_touches_the_justified_edge(justify: Justify, left_edge: float) -> None:
    camera = fit_camera((1000, 2000), (1000, 800), justify)
    assert camera.scale == pytest.approx(0.4)
    assert camera.offset_x == pytest.approx(left_edge)
    assert camera.offset_y == pytest.approx(0.0)


def test_zoom_keeps_the_point_under_the_cursor() -> None:
    camera = Camera(0.5, 10.0, 20.0)
    matrix = image_to_screen(DisplayTransform(), (100, 100), camera)
    before = screen_to_image(matrix, 40.0, 30.0)
    zoomed = camera.zoomed(2.0, 40.0, 30.0)
    after = screen_to_image(image_to_screen(DisplayTransform(), (100, 100), zoomed), 40.0, 30.0)
    assert after == pytest.approx(before)
    assert zoomed.scale == pytest.approx(1.0)


def test_demo_exam_hangs_back_to_back() -> None:
    study = load_paths([DEMO_CURRENT]).studies[0]
    placements = place(SCREENING_4UP, study.instances)
    labels = [(p.spec.row, p.spec.column, p.instance.view_label if p.instance else None) for p in placements]
    assert labels == [(0, 0, "RCC"), (0, 1, "LCC"), (1, 0, "RMLO"), (1, 1, "LMLO")]
    for placement in placements:
        assert placement.instance is not None
        side = placement.instance.laterality
        assert placement.spec.justify is (Justify.RIGHT if side is Laterality.RIGHT else Justify.LEFT)
        shown = placement.transform.apply(placement.instance.patient_orientation or ("", ""))
        assert shown == placement.spec.orientation
