"""A minified image must not alias: mipmaps average the stored values before the pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from mammo_workstation.pipeline.geometry import DisplayTransform
from mammo_workstation.pipeline.grayscale import DisplayPipeline, VOIFunction, Window
from mammo_workstation.render.camera import Camera, image_to_screen


@pytest.fixture(scope="module")
def offscreen():
    from mammo_workstation.render.xvfb import ensure_display

    ensure_display()
    from PySide6.QtGui import QGuiApplication

    from mammo_workstation.render.gl_renderer import RendererError
    from mammo_workstation.render.offscreen import OffscreenGL

    _app = QGuiApplication.instance() or QGuiApplication(["test"])
    try:
        return OffscreenGL()
    except RendererError as error:
        pytest.skip(f"no OpenGL context: {error}")


def test_fine_stripes_average_to_grey_at_quarter_size(offscreen) -> None:
    """4,000 rows of one-pixel stripes shown at 1,000 rows become a flat mid grey.

    Without mipmaps, nearest or bilinear sampling picks every fourth row and the result is all
    black or all white (or moire); with them every screen pixel averages four stored rows.
    """
    rows, columns = 4000, 256
    stripes = np.zeros((rows, columns), dtype=np.uint16)
    stripes[1::2] = 4000
    pipeline = DisplayPipeline(bits_stored=12, signed=False, window=Window(2000.5, 4001.0, VOIFunction.LINEAR))
    camera = Camera(scale=0.25)
    matrix = image_to_screen(DisplayTransform(), (columns, rows), camera)
    shown = offscreen.render(stripes, False, pipeline, matrix, (columns // 4, rows // 4))[..., 0]
    # LINEAR maps the mean stored value 2000 to (2000 - 2000) / 4000 + 0.5 = 0.5, grey 127.5.
    assert abs(float(shown.mean()) - 127.5) < 3
    assert int(shown.max()) - int(shown.min()) <= 2


def test_one_to_one_is_exact(offscreen) -> None:
    ramp = np.arange(256 * 16, dtype=np.uint16).reshape(16, 256)
    pipeline = DisplayPipeline(bits_stored=12, signed=False, window=Window(2048.0, 4096.0, VOIFunction.LINEAR))
    matrix = image_to_screen(DisplayTransform(), (256, 16), Camera())
    shown = offscreen.render(ramp, False, pipeline, matrix, (256, 16))[..., 0]
    # PS3.3 C.11.2.1.2.1 with c = 2048, w = 4096: y = (x - 2047.5) / 4095 + 0.5.
    expected = np.clip((ramp - 2047.5) / 4095.0 + 0.5, 0.0, 1.0)
    assert np.abs(shown.astype(float) - np.floor(expected * 255 + 0.5)).max() <= 1
