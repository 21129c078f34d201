"""The FOR PROCESSING banner (PS3.3 C.8.11.1.1.1: Presentation Intent Type)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter

FOR_PROCESSING_TEXT = "FOR PROCESSING - not for diagnosis"


class ForProcessingMarker:
    """Draws a banner at the top centre while the shown image is For Processing.

    A For Processing image is raw detector data shown with an automatic window. The banner
    keeps a reader from taking it for the image the modality processed for reading.
    """

    def __init__(self) -> None:
        self.text = FOR_PROCESSING_TEXT

    def shown(self, viewport: Any) -> bool:
        image = viewport.display_image
        return image is not None and bool(getattr(image, "for_processing", False))

    def paint(self, painter: QPainter, viewport: Any) -> None:
        if not self.shown(viewport):
            return
        width, _ = viewport.viewport_size()
        painter.save()
        painter.setFont(QFont("Sans", 13, QFont.Weight.Bold))
        metrics = painter.fontMetrics()
        box_width = metrics.horizontalAdvance(self.text) + 24
        box = QRectF((width - box_width) / 2.0, 6.0, box_width, metrics.height() + 10)
        painter.fillRect(box, QColor(170, 20, 20, 220))
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self.text)
        painter.restore()
