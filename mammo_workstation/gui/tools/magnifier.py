"""A magnifier that follows the cursor, with its own zoom and a resizable lens.

The lens shows the image through the viewport's current display pipeline, computed by the
numpy reference from the stored values under it, so it magnifies the original pixels rather
than the screen and stays exact whatever the viewport's own zoom.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPainterPath, QPen

from mammo_workstation.pipeline import reference

MIN_SIZE, MAX_SIZE = 80, 800  # lens side in widget pixels
MIN_ZOOM, MAX_ZOOM = 1.0, 16.0  # lens zoom relative to the viewport's own


class MagnifierTool:
    """A square lens centred on the cursor while ``active``."""

    def __init__(self, *, size: int = 240, zoom: float = 2.0) -> None:
        self.active = False
        self.size = size
        self.zoom = zoom
        self.position: tuple[float, float] | None = None

    def resize_by(self, factor: float) -> None:
        self.size = int(min(max(self.size * factor, MIN_SIZE), MAX_SIZE))

    def zoom_by(self, factor: float) -> None:
        self.zoom = min(max(self.zoom * factor, MIN_ZOOM), MAX_ZOOM)

    def mouse_move(self, event: QMouseEvent, viewport: Any) -> bool:
        self.position = (event.position().x(), event.position().y())
        if self.active:
            viewport.update()
        return False  # panning and window/level drags go on underneath

    def lens_image(self, viewport: Any) -> QImage | None:
        """Render the lens: the stored values under it through the viewport's pipeline."""
        image, pipeline = viewport.display_image, viewport.pipeline
        if image is None or pipeline is None or self.position is None:
            return None
        cursor_x, cursor_y = self.position
        offsets = np.arange(self.size, dtype=np.float64) + 0.5 - self.size / 2.0
        screen_x = cursor_x + offsets[np.newaxis, :] / self.zoom
        screen_y = cursor_y + offsets[:, np.newaxis] / self.zoom
        to_held = np.linalg.inv(viewport.image_to_screen() @ viewport.pixel_matrix())
        held_x = to_held[0, 0] * screen_x + to_held[0, 1] * screen_y + to_held[0, 2]
        held_y = to_held[1, 0] * screen_x + to_held[1, 1] * screen_y + to_held[1, 2]
        pixels = image.pixels
        rows, columns = pixels.shape[:2]
        column = np.floor(held_x).astype(np.int64)
        row = np.floor(held_y).astype(np.int64)
        inside = (column >= 0) & (column < columns) & (row >= 0) & (row < rows)
        stored = pixels[np.clip(row, 0, rows - 1), np.clip(column, 0, columns - 1)]
        if stored.ndim == 3:  # RGB: shown as stored, inverted on request
            rgb = 255 - stored if pipeline.invert else stored
        else:
            rgb = np.repeat(reference.render_uint8(pipeline, stored)[..., np.newaxis], 3, axis=2)
        rgb = np.ascontiguousarray(np.where(inside[..., np.newaxis], rgb, 0), dtype=np.uint8)
        return QImage(rgb.data, self.size, self.size, self.size * 3, QImage.Format.Format_RGB888).copy()

    def paint(self, painter: QPainter, viewport: Any) -> None:
        if not self.active:
            return
        lens = self.lens_image(viewport)
        if lens is None or self.position is None:
            return
        x, y = self.position
        box = QRectF(x - self.size / 2.0, y - self.size / 2.0, self.size, self.size)
        painter.save()
        path = QPainterPath()
        path.addRect(box)
        painter.setClipPath(path)
        painter.drawImage(QPointF(box.left(), box.top()), lens)
        painter.setClipping(False)
        painter.setPen(QPen(QColor(255, 200, 0), 2))
        painter.drawRect(box)
        painter.drawText(box.adjusted(6, 4, -6, -4).bottomLeft() + QPointF(0, -2), f"x{self.zoom:g}")
        painter.restore()
