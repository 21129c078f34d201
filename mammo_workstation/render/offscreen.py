"""Render through the GPU path without a window, into an OpenGL framebuffer object."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtGui import QImage, QOffscreenSurface, QOpenGLContext, QSurfaceFormat
from PySide6.QtOpenGL import QOpenGLFramebufferObject, QOpenGLFramebufferObjectFormat

from mammo_workstation.pipeline.grayscale import DisplayPipeline
from mammo_workstation.render.gl_renderer import GL_COLOR_BUFFER_BIT, GLImageRenderer, RendererError


def surface_format() -> QSurfaceFormat:
    """OpenGL 3.3 core: the lowest version with texelFetch and R16 textures everywhere."""
    fmt = QSurfaceFormat()
    fmt.setVersion(3, 3)
    fmt.setProfile(QSurfaceFormat.OpenGLContextProfile.CoreProfile)
    fmt.setSwapInterval(0)
    return fmt


class OffscreenGL:
    """An OpenGL context current on an offscreen surface; needs a QGuiApplication."""

    def __init__(self) -> None:
        self.context = QOpenGLContext()
        self.context.setFormat(surface_format())
        if not self.context.create():
            raise RendererError("no OpenGL context could be made (no GPU driver or X server)")
        self.surface = QOffscreenSurface()
        self.surface.setFormat(self.context.format())
        self.surface.create()
        if not self.context.makeCurrent(self.surface):
            raise RendererError("the OpenGL context cannot be made current offscreen")
        self.renderer = GLImageRenderer()
        self.renderer.initialize()

    def describe(self) -> str:
        functions = self.context.functions()
        renderer = functions.glGetString(0x1F01)  # GL_RENDERER
        version = functions.glGetString(0x1F02)  # GL_VERSION
        return f"{renderer} ({version})"

    def render(
        self, pixels: np.ndarray, signed: bool, pipeline: DisplayPipeline, image_to_screen: np.ndarray,
        size: tuple[int, int],
    ) -> np.ndarray:
        """Draw into a ``size`` framebuffer; return its RGB pixels as rows x columns x 3 uint8."""
        return self.render_pipelines(pixels, signed, [pipeline], image_to_screen, size)[0]

    def render_pipelines(
        self, pixels: np.ndarray, signed: bool, pipelines: Sequence[DisplayPipeline],
        image_to_screen: np.ndarray, size: tuple[int, int],
    ) -> list[np.ndarray]:
        """Upload the image once and draw it with each pipeline, as the viewer does on a drag."""
        self.context.makeCurrent(self.surface)
        fbo = QOpenGLFramebufferObject(size[0], size[1], QOpenGLFramebufferObjectFormat())
        functions = self.context.functions()
        self.renderer.set_image(pixels, signed)
        results = []
        try:
            for pipeline in pipelines:
                fbo.bind()
                functions.glViewport(0, 0, size[0], size[1])
                functions.glClearColor(0.0, 0.0, 0.0, 1.0)
                functions.glClear(GL_COLOR_BUFFER_BIT)
                self.renderer.draw(pipeline, image_to_screen, size)
                functions.glFinish()
                image = fbo.toImage().convertToFormat(QImage.Format.Format_RGB888)
                fbo.release()
                results.append(qimage_to_array(image))
        finally:
            self.renderer.release_image()
        return results


def qimage_to_array(image: QImage) -> np.ndarray:
    """An RGB888 QImage as a rows x columns x 3 array (copied, so it outlives the image)."""
    width, height = image.width(), image.height()
    stride = image.bytesPerLine()
    buffer = np.frombuffer(image.constBits(), dtype=np.uint8, count=stride * height)
    return buffer.reshape(height, stride)[:, : width * 3].reshape(height, width, 3).copy()
