"""Image viewports: the GPU one (QOpenGLWidget) and the numpy fallback, with one behaviour.

Mouse: left-drag pans, right-drag changes window/level (horizontal: width, vertical: centre),
the wheel zooms around the cursor. Keys are handled by the reading view, which applies them to
every viewport.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QTransform,
    QWheelEvent,
)
from PySide6.QtOpenGLWidgets import QOpenGLWidget
from PySide6.QtWidgets import QWidget

from mammo_workstation.dicom.loader import patient_orientation_of
from mammo_workstation.gui.loading import ProgressiveImage, register_viewport
from mammo_workstation.gui.tools import (
    install_distance_tool,
    install_for_processing_marker,
    install_magnifier,
    install_overlay_planes,
)
from mammo_workstation.hanging.layout import Justify, ViewportSpec
from mammo_workstation.pipeline import reference
from mammo_workstation.pipeline.annotation import Side, chest_wall_side, identification_side
from mammo_workstation.pipeline.geometry import DisplayTransform
from mammo_workstation.pipeline.grayscale import DisplayPipeline, Window
from mammo_workstation.pipeline.image import DisplayImage
from mammo_workstation.render.camera import (
    Camera,
    displayed_size,
    fit_camera,
    image_to_screen,
    placed_camera,
    screen_to_image,
)

logger = logging.getLogger(__name__)

_WHEEL_STEP = 1.15  # zoom factor per wheel notch
_OVERLAY_COLOR = QColor(235, 235, 160)


class ViewportTool(Protocol):
    """A tool drawn over the image and fed mouse events (distance, magnifier, ...)."""

    def paint(self, painter: QPainter, viewport: Any) -> None: ...


class ViewportBehaviour:
    """State and interaction shared by the GPU and software viewports.

    Subclasses are QWidgets; they call :meth:`_init_behaviour` and implement drawing.
    """

    display_image: DisplayImage | None
    pipeline: DisplayPipeline | None
    transform: DisplayTransform
    camera: Camera

    def _init_behaviour(self, spec: ViewportSpec | None) -> None:
        register_viewport(self)  # type: ignore[arg-type]
        self.spec = spec
        self.display_image = None
        self.pipeline = None
        self.transform = DisplayTransform()
        self.camera = Camera()
        self.fitted = True
        self.empty_text = f"{spec.label}: not in this study" if spec else ""
        self.overlay_lines: dict[str, list[str]] = {}
        self.tools: list[Any] = []
        self._install_tools()
        self._drag_start: QPointF | None = None
        self._drag_button = Qt.MouseButton.NoButton
        self._drag_camera = Camera()
        self._drag_window: Window | None = None
        widget: QWidget = self  # type: ignore[assignment]
        widget.setMouseTracking(True)
        widget.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        widget.setMinimumSize(64, 64)

    def _install_tools(self) -> None:
        """Add the standard tools: overlay planes and FOR PROCESSING always shown, the
        distance tool and the magnifier inactive until the user turns them on."""
        self.overlay_planes = install_overlay_planes(self)
        self.for_processing_marker = install_for_processing_marker(self)
        self.distance_tool = install_distance_tool(self)
        self.magnifier = install_magnifier(self)

    # -- content --------------------------------------------------------------------------

    def set_image(self, image: DisplayImage, transform: DisplayTransform) -> None:
        """Show ``image``; a reduced-resolution ProgressiveImage is replaced when refined."""
        self.display_image = image
        self.pipeline = image.pipeline
        self.transform = transform
        self.fitted = True
        self._fit()
        self._image_changed()
        if isinstance(image, ProgressiveImage) and image.is_reduced:
            image.add_listener(self._on_refined)
        self.update()  # type: ignore[attr-defined]

    def _on_refined(self, image: DisplayImage, previous: DisplayImage) -> None:
        """Full resolution replaced the pixels: keep the camera and any window the user set.

        An untouched default pipeline becomes the full image's default. That is not a user's
        change, so ``pipeline_changed`` (which drives window sync between viewports) stays quiet.
        """
        if image is not self.display_image:
            return
        if self.pipeline == previous.pipeline:
            self.pipeline = self.display_image.pipeline
        self._image_changed()
        self.update()  # type: ignore[attr-defined]

    def pixel_matrix(self) -> np.ndarray:
        """3x3 matrix from the pixels drawn to full-resolution image pixels.

        A level-L pixel (i, j) covers full-resolution pixels [i, i + 1) * 2**L, as in
        JPEG 2000 (ISO 15444-1 B.5) and in :func:`box_reduce`.
        """
        level = self.display_image.reduce if isinstance(self.display_image, ProgressiveImage) else 0
        return _level_matrix(level)

    def clear_image(self, text: str) -> None:
        self.display_image = None
        self.pipeline = None
        self.empty_text = text
        self._image_changed()
        self.update()  # type: ignore[attr-defined]

    def set_pipeline(self, pipeline: DisplayPipeline) -> None:
        self.pipeline = pipeline
        self.update()  # type: ignore[attr-defined]
        self.pipeline_changed.emit()  # type: ignore[attr-defined]

    def _image_changed(self) -> None:
        """Hook for subclasses: the image (not just its pipeline) changed."""

    # -- geometry -------------------------------------------------------------------------

    def displayed_image_size(self) -> tuple[int, int]:
        if self.display_image is None:
            return (0, 0)
        return displayed_size(self.transform, *self.display_image.size)

    def viewport_size(self) -> tuple[int, int]:
        widget: QWidget = self  # type: ignore[assignment]
        return widget.width(), widget.height()

    def image_to_screen(self) -> np.ndarray:
        size = self.display_image.size if self.display_image else (1, 1)
        return image_to_screen(self.transform, size, self.camera)

    def screen_to_image(self, x: float, y: float) -> tuple[float, float]:
        return screen_to_image(self.image_to_screen(), x, y)

    def set_camera(self, camera: Camera) -> None:
        self.camera = camera
        self.fitted = False
        self.update()  # type: ignore[attr-defined]

    def _justify(self) -> Justify:
        """Return the edge the image touches: the layout's, else a mammogram's chest wall."""
        justify = self.spec.justify if self.spec else Justify.CENTER
        if justify is not Justify.CENTER or self.display_image is None:
            return justify
        attributes = self.display_image.dataset
        if str(attributes.get("Modality", "")).upper() != "MG":
            return justify
        laterality = str(attributes.get("ImageLaterality", "") or attributes.get("Laterality", "") or "")
        wall = chest_wall_side(patient_orientation_of(attributes), self.transform, laterality)
        if wall is Side.LEFT:
            return Justify.LEFT
        if wall is Side.RIGHT:
            return Justify.RIGHT
        return justify

    def _fit(self) -> None:
        self.camera = fit_camera(self.displayed_image_size(), self.viewport_size(), self._justify())

    def fit(self) -> None:
        self.fitted = True
        self._fit()
        self.update()  # type: ignore[attr-defined]

    def one_to_one(self) -> None:
        """Show one image pixel per device pixel, justified like the fit.

        The offsets are rounded to whole device pixels, so each screen pixel shows exactly one
        stored value rather than a blend of two.
        """
        widget: QWidget = self  # type: ignore[assignment]
        ratio = widget.devicePixelRatioF()
        camera = placed_camera(1.0 / ratio, self.displayed_image_size(), self.viewport_size(), self._justify())
        self.set_camera(Camera(camera.scale, round(camera.offset_x * ratio) / ratio,
                               round(camera.offset_y * ratio) / ratio))

    def reset(self) -> None:
        if self.display_image is not None:
            self.pipeline = self.display_image.pipeline
        self.fit()

    def toggle_invert(self) -> None:
        if self.pipeline is not None:
            self.set_pipeline(self.pipeline.toggled_invert())

    def apply_preset(self, index: int) -> bool:
        """Apply window preset ``index`` (0-based) of the image, keeping the user's inversion."""
        if self.display_image is None or self.pipeline is None:
            return False
        presets = self.display_image.presets
        if not 0 <= index < len(presets):
            return False
        preset = presets[index]
        if self.pipeline.invert != self.display_image.pipeline.invert:
            preset = preset.toggled_invert()
        self.set_pipeline(preset)
        return True

    # -- mouse ----------------------------------------------------------------------------

    def _tools_consume(self, method: str, event: Any) -> bool:
        return any(getattr(tool, method, None) and getattr(tool, method)(event, self)
                   for tool in reversed(self.tools))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self._tools_consume("mouse_press", event):
            return
        self._drag_start = event.position()
        self._drag_button = event.button()
        self._drag_camera = self.camera
        self._drag_window = self._current_window()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._tools_consume("mouse_move", event) or self._drag_start is None:
            return
        delta = event.position() - self._drag_start
        if self._drag_button == Qt.MouseButton.LeftButton:
            self.set_camera(self._drag_camera.panned(delta.x(), delta.y()))
        elif self._drag_button == Qt.MouseButton.RightButton and self._drag_window is not None:
            self.set_pipeline(self._window_dragged(self._drag_window, delta.x(), delta.y()))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._tools_consume("mouse_release", event):
            return
        self._drag_start = None
        self._drag_button = Qt.MouseButton.NoButton

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps == 0 or self.display_image is None:
            return
        position = event.position()
        self.set_camera(self.camera.zoomed(_WHEEL_STEP**steps, position.x(), position.y()))

    def _current_window(self) -> Window | None:
        """Return the window a drag starts from; on a VOI LUT, the window the LUT acts as."""
        return None if self.pipeline is None else self.pipeline.current_window()

    def _window_dragged(self, start: Window, dx: float, dy: float) -> DisplayPipeline:
        """Drag right widens, drag down raises the centre; one screen width spans the range."""
        assert self.pipeline is not None
        low, high = self.pipeline.modality_range()
        span = max(high - low, 1.0)
        width, _ = self.viewport_size()
        sensitivity = span / max(width, 1)
        new_width = max(1.0, start.width + dx * sensitivity)
        new_center = start.center + dy * sensitivity
        # A sigmoid window or a VOI LUT keeps its shape while it moves, so nothing snaps.
        return self.pipeline.window_leveled(new_center, new_width)

    # -- overlays -------------------------------------------------------------------------

    def paint_overlays(self, painter: QPainter) -> None:
        width, height = self.viewport_size()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.display_image is None:
            painter.setPen(QColor(160, 160, 160))
            painter.setFont(QFont("Sans", 12))
            painter.drawText(QRectF(0, 0, width, height), Qt.AlignmentFlag.AlignCenter, self.empty_text)
            return
        for tool in self.tools:
            tool.paint(painter, self)
        self._paint_corner_text(painter, width, height)

    def _identification_side(self) -> Side:
        if self.display_image is None:
            return Side.LEFT
        attributes = self.display_image.dataset
        orientation = patient_orientation_of(attributes)
        laterality = str(attributes.get("ImageLaterality", "") or attributes.get("Laterality", "") or "")
        if orientation is None and not laterality:
            return Side.RIGHT if self._justify() == Justify.LEFT else Side.LEFT
        return identification_side(orientation, self.transform, laterality)

    def _paint_corner_text(self, painter: QPainter, width: int, height: int) -> None:
        # Identification text goes on the side away from the chest wall, over background.
        outer_left = self._identification_side() is Side.LEFT
        horizontal = Qt.AlignmentFlag.AlignLeft if outer_left else Qt.AlignmentFlag.AlignRight
        margin = 8
        area = QRectF(margin, margin, width - 2 * margin, height - 2 * margin)
        painter.setPen(_OVERLAY_COLOR)
        title = QFont("Sans", 14, QFont.Weight.Bold)
        painter.setFont(title)
        lines = self.overlay_lines
        painter.drawText(area, horizontal | Qt.AlignmentFlag.AlignTop, "\n".join(lines.get("title", [])))
        # The patient lines start below however many title lines there are (view, slice, ...).
        title_height = painter.fontMetrics().lineSpacing() * max(len(lines.get("title", [])), 1)
        painter.setFont(QFont("Sans", 9))
        top = area.adjusted(0, title_height + 2, 0, 0)
        painter.drawText(top, horizontal | Qt.AlignmentFlag.AlignTop, "\n".join(lines.get("patient", [])))
        bottom_lines = [*lines.get("study", []), self.window_text()]
        painter.drawText(area, horizontal | Qt.AlignmentFlag.AlignBottom, "\n".join(bottom_lines))

    def window_text(self) -> str:
        pipeline = self.pipeline
        if pipeline is None:
            return ""
        user_inverted = self.display_image and pipeline.invert != self.display_image.pipeline.invert
        prefix = "INVERTED  " if user_inverted else ""
        if pipeline.window is not None:
            w = pipeline.window
            name = f" {w.explanation}" if w.explanation else ""
            return f"{prefix}W {w.width:.0f} C {w.center:.0f}{name} {w.function.value}"
        if pipeline.voi_lut is not None:
            return f"{prefix}VOI LUT {pipeline.voi_lut.explanation}".rstrip()
        return prefix + "full range"


class GLViewport(ViewportBehaviour, QOpenGLWidget):
    """Viewport drawn by the GPU renderer."""

    pipeline_changed = Signal()

    def __init__(self, spec: ViewportSpec | None = None, parent: QWidget | None = None) -> None:
        QOpenGLWidget.__init__(self, parent)
        self._init_behaviour(spec)
        from mammo_workstation.render.gl_renderer import GLImageRenderer

        self._renderer = GLImageRenderer()
        self._upload_pending = False
        self._texture_level: int | None = None  # level of the uploaded pixels; None: no texture
        self._texture_from_full = False
        self.renderer_error: str | None = None

    @property
    def texture_level(self) -> int | None:
        """Resolution level of the uploaded texture (0: full resolution); None before upload."""
        return self._texture_level

    @property
    def texture_from_full_resolution(self) -> bool:
        """Whether the texture was made from the full-resolution decode (exact or box-averaged)."""
        return self._texture_from_full

    def pixel_matrix(self) -> np.ndarray:
        return _level_matrix(self._texture_level or 0)

    def _upload_texture(self) -> None:
        """Upload the level the current zoom needs when the texture is missing or too coarse."""
        image = self.display_image
        if image is None:
            if self._texture_level is not None:
                self._renderer.release_image()
            self._texture_level = None
            return
        scale = self.camera.scale * self.devicePixelRatioF()
        if isinstance(image, ProgressiveImage):
            level, pixels = image.level_for(scale)
            from_full = not image.is_reduced
        else:
            level, pixels, from_full = 0, image.pixels, True
        current = self._texture_level
        too_coarse = current is not None and 2.0**-current < scale * (1 - 1e-9) and level < current
        if not (self._upload_pending or current is None or too_coarse):
            return
        self._upload_pending = False
        self._renderer.set_image(pixels, image.frame.signed)
        self._texture_level, self._texture_from_full = level, from_full

    def _image_changed(self) -> None:
        self._upload_pending = True

    def initializeGL(self) -> None:
        from mammo_workstation.render.gl_renderer import RendererError

        self.context().aboutToBeDestroyed.connect(self.release_gl)
        try:
            self._renderer.initialize()
        except RendererError as error:
            self.renderer_error = str(error)
            logger.error("GPU viewport unavailable: %s", error)

    def release_gl(self) -> None:
        """Free the textures while the context still exists (Qt warns otherwise)."""
        if self.context() is None or not self.context().isValid():
            return
        self.makeCurrent()
        self._renderer.release_image()
        self.doneCurrent()
        self._texture_level = None

    def resizeGL(self, width: int, height: int) -> None:
        if self.fitted:
            self._fit()

    def paintGL(self) -> None:
        functions = self.context().functions()
        functions.glClearColor(0.0, 0.0, 0.0, 1.0)
        functions.glClear(0x4000)
        self._upload_texture()
        if self.display_image is not None and self.pipeline is not None:
            ratio = self.devicePixelRatioF()
            scale = np.diag([ratio, ratio, 1.0])
            size = (int(self.width() * ratio), int(self.height() * ratio))
            pixels_to_screen = scale @ self.image_to_screen() @ self.pixel_matrix()
            self._renderer.draw(self.pipeline, pixels_to_screen, size, 1.0)
        painter = QPainter(self)
        self.paint_overlays(painter)
        painter.end()


class SoftwareViewport(ViewportBehaviour, QWidget):
    """Viewport drawn from the numpy reference: the fallback when OpenGL is unavailable."""

    pipeline_changed = Signal()

    def __init__(self, spec: ViewportSpec | None = None, parent: QWidget | None = None) -> None:
        QWidget.__init__(self, parent)
        self._init_behaviour(spec)
        self._cache: tuple[DisplayPipeline, QImage] | None = None
        self._minified_cache: tuple[tuple[DisplayPipeline, float], QImage] | None = None
        self.setAutoFillBackground(False)

    def _image_changed(self) -> None:
        self._cache = None
        self._minified_cache = None

    def resizeEvent(self, event: Any) -> None:
        if self.fitted:
            self._fit()
        super().resizeEvent(event)

    def _rendered(self) -> QImage:
        assert self.display_image is not None and self.pipeline is not None
        if self._cache is not None and self._cache[0] == self.pipeline:
            return self._cache[1]
        frame = self.display_image.frame
        if frame.is_color:
            data = np.ascontiguousarray(frame.pixels)
            if self.pipeline.invert:
                data = 255 - data
            image = QImage(data.data, data.shape[1], data.shape[0], data.strides[0],
                           QImage.Format.Format_RGB888).copy()
        else:
            data = np.ascontiguousarray(reference.render_uint8(self.pipeline, frame.pixels))
            image = QImage(data.data, data.shape[1], data.shape[0], data.strides[0],
                           QImage.Format.Format_Grayscale8).copy()
        self._cache = (self.pipeline, image)
        return image

    def _minified(self, scale: float) -> QImage:
        """The rendered image shrunk by area averaging, so a minified view does not alias."""
        image = self._rendered()
        assert self.pipeline is not None
        key = (self.pipeline, round(scale, 4))
        if self._minified_cache is not None and self._minified_cache[0] == key:
            return self._minified_cache[1]
        size = image.size() * scale
        shrunk = image.scaled(max(size.width(), 1), max(size.height(), 1),
                              Qt.AspectRatioMode.IgnoreAspectRatio,
                              Qt.TransformationMode.SmoothTransformation)
        self._minified_cache = (key, shrunk)
        return shrunk

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(0, 0, 0))
        if self.display_image is not None and self.pipeline is not None:
            m = self.image_to_screen() @ self.pixel_matrix()
            scale = float(np.sqrt(abs(np.linalg.det(m[:2, :2]))))
            image = self._rendered()
            if scale < 1.0:
                image = self._minified(scale)
                shrink = image.width() / max(self.display_image.pixels.shape[1], 1)
                m = m @ np.diag([1.0 / shrink, 1.0 / shrink, 1.0])
            painter.save()
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, scale < 1.0)
            painter.setTransform(QTransform(m[0, 0], m[1, 0], m[0, 1], m[1, 1], m[0, 2], m[1, 2]))
            painter.drawImage(QPointF(0, 0), image)
            painter.restore()
        self.paint_overlays(painter)
        painter.end()


def _level_matrix(level: int) -> np.ndarray:
    step = float(1 << level)
    return np.diag([step, step, 1.0])
