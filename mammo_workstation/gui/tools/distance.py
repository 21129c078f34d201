"""Distance measurement in mm, labelled with the calibration it used (PS3.3 10.7.1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPen

from mammo_workstation.gui.tools.common import current_attributes, to_screen
from mammo_workstation.pipeline.calibration import PixelCalibration, pixel_calibration

_LINE_COLOR = QColor(255, 200, 0)


@dataclass
class Measurement:
    """A line between two points in full-resolution image pixels (column, row)."""

    start: tuple[float, float]
    end: tuple[float, float]

    @property
    def vector(self) -> tuple[float, float]:
        return self.end[0] - self.start[0], self.end[1] - self.start[1]


class DistanceTool:
    """Left-drag draws a line; its label gives the length in mm and the calibration used.

    The measurements stay in image coordinates, so they follow pan and zoom, and belong to
    the image they were drawn on: showing another image clears them.
    """

    def __init__(self, *, correct_magnification: bool = True) -> None:
        self.active = False
        self.correct_magnification = correct_magnification
        self.measurements: list[Measurement] = []
        self._drawing: Measurement | None = None
        self._image: object = None

    def calibration(self, viewport: Any) -> PixelCalibration | None:
        attributes = current_attributes(viewport)
        if attributes is None:
            return None
        return pixel_calibration(attributes, correct_magnification=self.correct_magnification)

    def label(self, measurement: Measurement, viewport: Any) -> str:
        calibration = self.calibration(viewport)
        if calibration is None:
            return ""
        return calibration.format_distance(*measurement.vector)

    def clear(self) -> None:
        self.measurements.clear()
        self._drawing = None

    def _follow_image(self, viewport: Any) -> None:
        if viewport.display_image is not self._image:
            self._image = viewport.display_image
            self.clear()

    # -- mouse ----------------------------------------------------------------------------

    def mouse_press(self, event: QMouseEvent, viewport: Any) -> bool:
        if not self.active or event.button() != Qt.MouseButton.LeftButton or viewport.display_image is None:
            return False
        self._follow_image(viewport)
        point = viewport.screen_to_image(event.position().x(), event.position().y())
        self._drawing = Measurement(point, point)
        self.measurements.append(self._drawing)
        viewport.update()
        return True

    def mouse_move(self, event: QMouseEvent, viewport: Any) -> bool:
        if self._drawing is None:
            return False
        self._drawing.end = viewport.screen_to_image(event.position().x(), event.position().y())
        viewport.update()
        return True

    def mouse_release(self, event: QMouseEvent, viewport: Any) -> bool:
        if self._drawing is None:
            return False
        self._drawing.end = viewport.screen_to_image(event.position().x(), event.position().y())
        self._drawing = None
        viewport.update()
        return True

    # -- drawing --------------------------------------------------------------------------

    def paint(self, painter: QPainter, viewport: Any) -> None:
        self._follow_image(viewport)
        if not self.measurements:
            return
        painter.save()
        painter.setPen(QPen(_LINE_COLOR, 1.5))
        painter.setFont(QFont("Sans", 10, QFont.Weight.Bold))
        for measurement in self.measurements:
            start = QPointF(*to_screen(viewport, *measurement.start))
            end = QPointF(*to_screen(viewport, *measurement.end))
            painter.drawLine(start, end)
            for point in (start, end):
                painter.drawEllipse(point, 3.0, 3.0)
            painter.drawText((start + end) / 2 + QPointF(6, -6), self.label(measurement, viewport))
        painter.restore()
