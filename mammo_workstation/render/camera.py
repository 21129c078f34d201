"""Image placement in a viewport: orientation, zoom and pan as one affine matrix.

Pure numpy, shared by the GPU renderer, the software renderer and the overlays, so a point
picked with the mouse maps back to the same image pixel that was drawn there.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from mammo_workstation.hanging.layout import Justify
from mammo_workstation.pipeline.geometry import DisplayTransform


def orientation_matrix(transform: DisplayTransform, width: int, height: int) -> np.ndarray:
    """3x3 matrix from image pixel coordinates to displayed-image coordinates.

    Coordinates are continuous: pixel (i, j) covers [i, i+1) x [j, j+1), so corners map to
    corners exactly.
    """
    quarter_turns = transform.rotation // 90 % 4
    matrices = {
        0: np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=float),
        1: np.array([[0, -1, height], [1, 0, 0], [0, 0, 1]], dtype=float),
        2: np.array([[-1, 0, width], [0, -1, height], [0, 0, 1]], dtype=float),
        3: np.array([[0, 1, 0], [-1, 0, width], [0, 0, 1]], dtype=float),
    }
    matrix = matrices[quarter_turns]
    if transform.flip_horizontal:
        displayed_width = height if quarter_turns % 2 else width
        matrix = np.array([[-1, 0, displayed_width], [0, 1, 0], [0, 0, 1]], dtype=float) @ matrix
    return matrix


def displayed_size(transform: DisplayTransform, width: int, height: int) -> tuple[int, int]:
    return (height, width) if transform.rotation // 90 % 2 else (width, height)


@dataclass(frozen=True)
class Camera:
    """Screen pixels per displayed-image pixel (``scale``) and the image origin on screen."""

    scale: float = 1.0
    offset_x: float = 0.0
    offset_y: float = 0.0

    def matrix(self) -> np.ndarray:
        return np.array(
            [[self.scale, 0, self.offset_x], [0, self.scale, self.offset_y], [0, 0, 1]], dtype=float
        )

    def zoomed(self, factor: float, anchor_x: float, anchor_y: float) -> Camera:
        """Zoom by ``factor`` keeping the screen point (anchor_x, anchor_y) fixed."""
        scale = min(max(self.scale * factor, 1e-3), 64.0)
        applied = scale / self.scale
        return Camera(
            scale,
            anchor_x - (anchor_x - self.offset_x) * applied,
            anchor_y - (anchor_y - self.offset_y) * applied,
        )

    def panned(self, dx: float, dy: float) -> Camera:
        return replace(self, offset_x=self.offset_x + dx, offset_y=self.offset_y + dy)


def fit_camera(
    image_size: tuple[int, int], viewport_size: tuple[int, int], justify: Justify
) -> Camera:
    """Fit the displayed image in the viewport, touching the edge ``justify`` names."""
    width, height = image_size
    viewport_width, viewport_height = viewport_size
    if width <= 0 or height <= 0 or viewport_width <= 0 or viewport_height <= 0:
        return Camera()
    scale = min(viewport_width / width, viewport_height / height)
    return placed_camera(scale, image_size, viewport_size, justify)


def placed_camera(
    scale: float, image_size: tuple[int, int], viewport_size: tuple[int, int], justify: Justify
) -> Camera:
    """Return a camera at ``scale``, justified horizontally and centred vertically."""
    width, height = image_size
    viewport_width, viewport_height = viewport_size
    spare_x = viewport_width - width * scale
    offset_x = {Justify.LEFT: 0.0, Justify.RIGHT: spare_x}.get(justify, spare_x / 2.0)
    return Camera(scale, offset_x, (viewport_height - height * scale) / 2.0)


def image_to_screen(
    transform: DisplayTransform, image_size: tuple[int, int], camera: Camera
) -> np.ndarray:
    """3x3 matrix from image pixel coordinates to viewport pixel coordinates (y down)."""
    return camera.matrix() @ orientation_matrix(transform, *image_size)


def screen_to_image(matrix: np.ndarray, x: float, y: float) -> tuple[float, float]:
    point = np.linalg.solve(matrix, np.array([x, y, 1.0]))
    return float(point[0]), float(point[1])
