"""Capture a window as the user sees it, GPU viewports included."""

from __future__ import annotations

from PySide6.QtCore import QPoint
from PySide6.QtGui import QImage, QPainter
from PySide6.QtOpenGLWidgets import QOpenGLWidget
from PySide6.QtWidgets import QWidget


def capture_widget(widget: QWidget) -> QImage:
    """Grab ``widget`` and paint each visible QOpenGLWidget's framebuffer over its place.

    ``QWidget.grab`` re-renders OpenGL children without what QPainter drew over them (seen
    with PySide6 6.12 under Xvfb), so their framebuffers are copied in instead.
    """
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    painter = QPainter(image)
    for child in widget.findChildren(QOpenGLWidget):
        if child.isVisible():
            painter.drawImage(child.mapTo(widget, QPoint(0, 0)), child.grabFramebuffer())
    painter.end()
    return image
