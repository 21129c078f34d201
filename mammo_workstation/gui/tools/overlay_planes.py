"""Overlay planes (60xx groups, PS3.3 C.9.2) drawn over the image, including past its edges."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QImage, QPainter

from mammo_workstation.gui.tools.common import image_transform
from mammo_workstation.pipeline.overlays import OverlayPlane, overlay_planes

_PLANE_COLOR = QColor(255, 255, 120)


class OverlayPlanesTool:
    """Paints every overlay plane of the shown frame in one colour, in image coordinates.

    Each plane becomes a transparent image with opaque set bits, placed at its Overlay Origin
    with the viewport's image transform, so it follows pan, zoom, rotation and flips, and the
    parts outside the image are drawn too.
    """

    def __init__(self) -> None:
        self.visible = True
        self._key: tuple[int, int] | None = None
        self._planes: list[tuple[OverlayPlane, QImage]] = []

    def planes(self, viewport: Any) -> list[tuple[OverlayPlane, QImage]]:
        image = viewport.display_image
        if image is None:
            return []
        frame = getattr(image, "frame_index", 0)
        key = (id(image.dataset), frame)
        if key != self._key:
            self._key = key
            self._planes = [(plane, _plane_image(plane)) for plane in overlay_planes(image.dataset, frame)]
        return self._planes

    def paint(self, painter: QPainter, viewport: Any) -> None:
        if not self.visible:
            return
        planes = self.planes(viewport)
        if not planes:
            return
        painter.save()
        painter.setTransform(image_transform(viewport), combine=True)
        for plane, bitmap in planes:
            top, left = plane.origin
            painter.drawImage(QPointF(left, top), bitmap)
        painter.restore()


def _plane_image(plane: OverlayPlane) -> QImage:
    rows, columns = plane.bitmap.shape
    rgba = np.zeros((rows, columns, 4), dtype=np.uint8)
    rgba[plane.bitmap] = (_PLANE_COLOR.red(), _PLANE_COLOR.green(), _PLANE_COLOR.blue(), 255)
    image = QImage(rgba.data, columns, rows, columns * 4, QImage.Format.Format_RGBA8888)
    return image.copy()  # the copy owns its pixels once rgba is gone
