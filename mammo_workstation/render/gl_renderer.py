"""GPU renderer: the grayscale pipeline of :mod:`mammo_workstation.pipeline` in a shader.

The stored values are uploaded once as a 16-bit texture with mipmaps; window/level, VOI LUT
Function and inversion are uniforms, so dragging the window only changes uniforms. Lookup
tables (Modality LUT Sequence, VOI LUT Sequence) are small float textures.

The renderer works in whatever OpenGL context is current: a QOpenGLWidget on screen, or an
offscreen framebuffer for the ``render`` and ``screenshot`` commands.
"""

from __future__ import annotations

import logging
from importlib import resources

import numpy as np
from PySide6.QtGui import QMatrix4x4, QOpenGLContext, QOpenGLFunctions
from PySide6.QtOpenGL import (
    QOpenGLBuffer,
    QOpenGLPixelTransferOptions,
    QOpenGLShader,
    QOpenGLShaderProgram,
    QOpenGLTexture,
    QOpenGLVertexArrayObject,
)

from mammo_workstation.pipeline.grayscale import DisplayPipeline, VOIFunction, lut_equivalent_window
from mammo_workstation.pipeline.lut import LookupTable

logger = logging.getLogger(__name__)

GL_TRIANGLE_STRIP = 0x0005
GL_FLOAT = 0x1406
GL_COLOR_BUFFER_BIT = 0x4000

# Shader VOI modes; the numbers are shared with display.frag.
_VOI_LINEAR, _VOI_LINEAR_EXACT, _VOI_SIGMOID, _VOI_LUT, _VOI_RANGE = range(5)
_VOI_MODES = {
    VOIFunction.LINEAR: _VOI_LINEAR,
    VOIFunction.LINEAR_EXACT: _VOI_LINEAR_EXACT,
    VOIFunction.SIGMOID: _VOI_SIGMOID,
}
_LUT_ROW = 256  # LUT entries per texture row; 65536 entries fit in 256 x 256.


class RendererError(RuntimeError):
    """The OpenGL context cannot run the display shader."""


def _shader_source(name: str) -> str:
    return resources.files("mammo_workstation.render").joinpath(name).read_text(encoding="utf-8")


class GLImageRenderer:
    """Draws one image with the display pipeline into the current OpenGL context."""

    def __init__(self) -> None:
        self._program: QOpenGLShaderProgram | None = None
        self._vao: QOpenGLVertexArrayObject | None = None
        self._vbo: QOpenGLBuffer | None = None
        self._texture: QOpenGLTexture | None = None
        self._modality_lut: QOpenGLTexture | None = None
        self._voi_lut: QOpenGLTexture | None = None
        self._image_size = (0, 0)
        self._offset = 0.0
        self._color = False
        self._lut_sources: dict[str, LookupTable | None] = {}

    # -- set-up ---------------------------------------------------------------------------

    def initialize(self) -> None:
        """Compile the shaders; call with the target context current."""
        program = QOpenGLShaderProgram()
        for kind, name in ((QOpenGLShader.ShaderTypeBit.Vertex, "display.vert"),
                           (QOpenGLShader.ShaderTypeBit.Fragment, "display.frag")):
            if not program.addShaderFromSourceCode(kind, _shader_source(name)):
                raise RendererError(f"{name} did not compile: {program.log()}")
        program.bindAttributeLocation("a_position", 0)
        if not program.link():
            raise RendererError(f"display shader did not link: {program.log()}")
        self._program = program
        self._vao = QOpenGLVertexArrayObject()
        self._vao.create()
        self._vbo = QOpenGLBuffer(QOpenGLBuffer.Type.VertexBuffer)
        self._vbo.create()

    @property
    def has_image(self) -> bool:
        return self._texture is not None

    def set_image(self, pixels: np.ndarray, signed: bool) -> None:
        """Upload stored values (2-D, any integer type) or RGB (rows x columns x 3, uint8)."""
        self.release_image()
        texture = QOpenGLTexture(QOpenGLTexture.Target.Target2D)
        height, width = pixels.shape[:2]
        options = QOpenGLPixelTransferOptions()
        options.setAlignment(1)
        if pixels.ndim == 3:
            data = np.ascontiguousarray(pixels, dtype=np.uint8)
            texture.setFormat(QOpenGLTexture.TextureFormat.RGB8_UNorm)
            source_format, source_type = QOpenGLTexture.PixelFormat.RGB, QOpenGLTexture.PixelType.UInt8
            self._offset, self._color = 0.0, True
        else:
            data, self._offset = _as_uint16(pixels, signed)
            texture.setFormat(QOpenGLTexture.TextureFormat.R16_UNorm)
            source_format, source_type = QOpenGLTexture.PixelFormat.Red, QOpenGLTexture.PixelType.UInt16
            self._color = False
        texture.setSize(width, height)
        texture.setMipLevels(texture.maximumMipLevels())
        texture.allocateStorage(source_format, source_type)
        # A numpy array is passed as the buffer; the stubs only know the pointer form.
        texture.setData(0, source_format, source_type, data, options)  # type: ignore[call-overload]
        texture.generateMipMaps()
        texture.setWrapMode(QOpenGLTexture.WrapMode.ClampToEdge)
        self._texture = texture
        self._image_size = (width, height)

    def release_image(self) -> None:
        for texture in (self._texture, self._modality_lut, self._voi_lut):
            if texture is not None:
                texture.destroy()
        self._texture = self._modality_lut = self._voi_lut = None
        self._lut_sources = {}

    # -- drawing --------------------------------------------------------------------------

    def draw(
        self,
        pipeline: DisplayPipeline,
        image_to_screen: np.ndarray,
        viewport_size: tuple[int, int],
        device_pixel_ratio: float = 1.0,
    ) -> None:
        """Draw the image; ``image_to_screen`` maps image pixels to viewport pixels (y down)."""
        if self._program is None or self._texture is None or self._vao is None:
            return
        functions = QOpenGLContext.currentContext().functions()
        width, height = viewport_size
        self._upload_vertices()
        program = self._program
        program.bind()
        self._choose_filter(image_to_screen, device_pixel_ratio)
        self._texture.bind(0)
        program.setUniformValue1i(program.uniformLocation("u_image"), 0)
        program.setUniformValue(program.uniformLocation("u_image_to_clip"), _clip_matrix(image_to_screen, width, height))
        program.setUniformValue(program.uniformLocation("u_image_size"), float(self._image_size[0]), float(self._image_size[1]))
        program.setUniformValue1i(program.uniformLocation("u_color"), int(self._color))
        self._set_pipeline_uniforms(program, functions, pipeline)
        self._vao.bind()
        functions.glDrawArrays(GL_TRIANGLE_STRIP, 0, 4)
        self._vao.release()
        self._texture.release(0)
        program.release()

    def _upload_vertices(self) -> None:
        assert self._vao is not None and self._vbo is not None and self._program is not None
        width, height = self._image_size
        corners = np.array([0, 0, width, 0, 0, height, width, height], dtype=np.float32)
        self._vao.bind()
        self._vbo.bind()
        self._vbo.allocate(corners.tobytes(), corners.nbytes)
        self._program.enableAttributeArray(0)
        self._program.setAttributeBuffer(0, GL_FLOAT, 0, 2, 0)
        self._vao.release()
        self._vbo.release()

    def _choose_filter(self, image_to_screen: np.ndarray, device_pixel_ratio: float) -> None:
        """Exact texels at 1:1 and above; trilinear mipmaps when minified, so nothing aliases."""
        assert self._texture is not None
        scale = float(np.sqrt(abs(np.linalg.det(image_to_screen[:2, :2])))) * device_pixel_ratio
        filters = QOpenGLTexture.Filter
        if scale >= 0.999:
            self._texture.setMinMagFilters(filters.Nearest, filters.Nearest)
        else:
            self._texture.setMinMagFilters(filters.LinearMipMapLinear, filters.Linear)

    def _set_pipeline_uniforms(
        self, program: QOpenGLShaderProgram, functions: QOpenGLFunctions, pipeline: DisplayPipeline
    ) -> None:
        program.setUniformValue1f(program.uniformLocation("u_offset"), float(self._offset))
        program.setUniformValue1f(program.uniformLocation("u_slope"), float(pipeline.rescale_slope))
        program.setUniformValue1f(program.uniformLocation("u_intercept"), float(pipeline.rescale_intercept))
        program.setUniformValue1i(program.uniformLocation("u_invert"), int(pipeline.invert))
        padding = pipeline.padding
        program.setUniformValue1i(program.uniformLocation("u_has_padding"), int(padding is not None))
        if padding is not None:
            program.setUniformValue(program.uniformLocation("u_padding"), float(padding[0]), float(padding[1]))
        self._bind_lut(program, "modality", pipeline.modality_lut, 1)
        if pipeline.window is not None:
            mode = _VOI_MODES[pipeline.window.function]
            program.setUniformValue1f(program.uniformLocation("u_center"), float(pipeline.window.center))
            program.setUniformValue1f(program.uniformLocation("u_width"), float(pipeline.window.width))
        elif pipeline.voi_lut is not None:
            mode = _VOI_LUT
        else:
            mode = _VOI_RANGE
            low, high = pipeline.modality_range()
            program.setUniformValue1f(program.uniformLocation("u_center"), float(low))
            program.setUniformValue1f(program.uniformLocation("u_width"), float(max(high - low, 1.0)))
        program.setUniformValue1i(program.uniformLocation("u_voi_mode"), mode)
        self._bind_lut(program, "voi", pipeline.voi_lut if mode == _VOI_LUT else None, 2)
        adjusted = mode == _VOI_LUT and pipeline.voi_lut_window is not None
        program.setUniformValue1i(program.uniformLocation("u_voi_lut_adjusted"), int(adjusted))
        if adjusted:
            assert pipeline.voi_lut is not None and pipeline.voi_lut_window is not None
            program.setUniformValue(program.uniformLocation("u_voi_lut_window"), *_pair(lut_equivalent_window(pipeline.voi_lut)))
            program.setUniformValue(program.uniformLocation("u_user_window"), *_pair(pipeline.voi_lut_window))

    def _bind_lut(
        self, program: QOpenGLShaderProgram, stage: str, lut: LookupTable | None, unit: int
    ) -> None:
        program.setUniformValue1i(program.uniformLocation(f"u_has_{stage}_lut"), int(lut is not None))
        program.setUniformValue1i(program.uniformLocation(f"u_{stage}_lut"), unit)
        if lut is None:
            return
        texture = self._lut_texture(stage, lut)
        texture.bind(unit)
        program.setUniformValue1f(program.uniformLocation(f"u_{stage}_lut_first"), float(lut.first_mapped))
        program.setUniformValue1f(program.uniformLocation(f"u_{stage}_lut_length"), float(len(lut.data)))
        program.setUniformValue1f(program.uniformLocation(f"u_{stage}_lut_max"), float(lut.output_max))

    def _lut_texture(self, stage: str, lut: LookupTable) -> QOpenGLTexture:
        """Return the LUT as a 256-wide R32F texture, uploaded again only when the LUT changes."""
        attribute = "_modality_lut" if stage == "modality" else "_voi_lut"
        existing: QOpenGLTexture | None = getattr(self, attribute)
        if existing is not None and self._lut_sources.get(stage) is lut:
            return existing
        if existing is not None:
            existing.destroy()
        entries = np.asarray(lut.data, dtype=np.float32)
        rows = -(-len(entries) // _LUT_ROW)
        padded = np.zeros(rows * _LUT_ROW, dtype=np.float32)
        padded[: len(entries)] = entries
        texture = QOpenGLTexture(QOpenGLTexture.Target.Target2D)
        texture.setFormat(QOpenGLTexture.TextureFormat.R32F)
        texture.setSize(_LUT_ROW, rows)
        texture.setMipLevels(1)
        texture.allocateStorage(QOpenGLTexture.PixelFormat.Red, QOpenGLTexture.PixelType.Float32)
        texture.setData(QOpenGLTexture.PixelFormat.Red, QOpenGLTexture.PixelType.Float32,
                        padded)  # type: ignore[call-overload]  # numpy buffer, see set_image
        texture.setMinMagFilters(QOpenGLTexture.Filter.Nearest, QOpenGLTexture.Filter.Nearest)
        setattr(self, attribute, texture)
        self._lut_sources[stage] = lut
        return texture


def _pair(values: tuple[float, float]) -> tuple[float, float]:
    return float(values[0]), float(values[1])


def _as_uint16(pixels: np.ndarray, signed: bool) -> tuple[np.ndarray, float]:
    """Stored values as uint16 texels and the offset the shader subtracts to get them back."""
    if pixels.dtype == np.uint16 or pixels.dtype == np.uint8:
        return np.ascontiguousarray(pixels, dtype=np.uint16), 0.0
    if pixels.dtype == np.int16 or pixels.dtype == np.int8 or signed:
        # NOTE: values outside 16 bits (Bits Stored > 16) are clipped; no such image is known.
        shifted = np.clip(pixels.astype(np.int32) + 32768, 0, 65535)
        return shifted.astype(np.uint16), 32768.0
    return np.clip(pixels, 0, 65535).astype(np.uint16), 0.0


def _clip_matrix(image_to_screen: np.ndarray, width: int, height: int) -> QMatrix4x4:
    """Image pixels to OpenGL clip space: x right, y up, viewport corners at +-1."""
    to_clip = np.array(
        [[2.0 / max(width, 1), 0, -1.0], [0, -2.0 / max(height, 1), 1.0], [0, 0, 1]]
    )
    m = to_clip @ image_to_screen
    return QMatrix4x4(
        m[0, 0], m[0, 1], 0.0, m[0, 2],
        m[1, 0], m[1, 1], 0.0, m[1, 2],
        0.0, 0.0, 1.0, 0.0,
        0.0, 0.0, 0.0, 1.0,
    )
