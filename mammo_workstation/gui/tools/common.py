"""Helpers the viewport tools share: where the image is and what a viewport shows."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtGui import QTransform

from mammo_workstation.pipeline.frames import frame_attributes


def image_transform(viewport: Any) -> QTransform:
    """Convert the viewport's image-to-widget matrix to a QTransform for QPainter."""
    m = viewport.image_to_screen()
    return QTransform(m[0, 0], m[1, 0], m[0, 1], m[1, 1], m[0, 2], m[1, 2])


def to_screen(viewport: Any, x: float, y: float) -> tuple[float, float]:
    point = viewport.image_to_screen() @ np.array([x, y, 1.0])
    return float(point[0]), float(point[1])


def current_attributes(viewport: Any) -> Any:
    """Return the attributes of the shown frame, functional groups included, or None."""
    image = viewport.display_image
    if image is None:
        return None
    return frame_attributes(image.dataset, getattr(image, "frame_index", 0))
