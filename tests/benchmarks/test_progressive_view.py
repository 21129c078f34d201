"""A viewport shows a reduced-resolution image first and keeps the user's view when refined."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QImage

from mammo_workstation.dicom import fast_decode
from mammo_workstation.dicom.decode import decode_frame, read_dataset
from mammo_workstation.gui.loading import ProgressiveImage, display_levels
from mammo_workstation.gui.viewport import GLViewport, SoftwareViewport
from mammo_workstation.pipeline import reference
from mammo_workstation.pipeline.geometry import DisplayTransform
from mammo_workstation.pipeline.grayscale import Window
from mammo_workstation.pipeline.image import display_image_from
from mammo_workstation.render.camera import Camera
from mammo_workstation.render.offscreen import qimage_to_array
from tests.conftest import DEMO_CURRENT

pytestmark = pytest.mark.gpu
PATH = DEMO_CURRENT / "RCC.dcm"


@pytest.fixture(scope="module")
def decoded():
    dataset = read_dataset(PATH)
    reduced = fast_decode.decode_reduced(dataset, 0, 2)
    full = display_image_from(PATH, dataset, decode_frame(dataset, 0))
    return dataset, reduced, full


def _preview(decoded) -> ProgressiveImage:
    dataset, reduced, _ = decoded
    image = display_image_from(PATH, dataset, reduced.frame)
    fields = {name: getattr(image, name) for name in image.__dataclass_fields__}
    return ProgressiveImage(**fields, full_size=reduced.full_size, reduce=2)


@pytest.mark.parametrize("viewport_class", [GLViewport, SoftwareViewport])
def test_refine_keeps_camera_and_user_window(qtbot, decoded, viewport_class) -> None:
    _, _, full = decoded
    viewport = viewport_class()
    qtbot.addWidget(viewport)
    viewport.resize(600, 500)
    viewport.show()
    qtbot.waitExposed(viewport)
    preview = _preview(decoded)
    viewport.set_image(preview, DisplayTransform())
    assert viewport.display_image.size == full.size, "geometry in full-resolution pixels"
    viewport.set_camera(Camera(0.5, -100.0, -40.0))
    user = viewport.pipeline.with_window(Window(30000.0, 20000.0))
    viewport.set_pipeline(user)
    point = viewport.screen_to_image(120.0, 80.0)
    preview.refine(full, display_levels(full.frame, (600, 500)))
    assert viewport.display_image.pixels.shape == full.pixels.shape
    assert viewport.camera == Camera(0.5, -100.0, -40.0)
    assert viewport.pipeline == user
    assert viewport.screen_to_image(120.0, 80.0) == pytest.approx(point)


def test_refine_takes_default_window_when_untouched(qtbot, decoded) -> None:
    _, _, full = decoded
    viewport = SoftwareViewport()
    qtbot.addWidget(viewport)
    preview = _preview(decoded)
    viewport.set_image(preview, DisplayTransform())
    preview.refine(full, {})
    assert viewport.pipeline == full.pipeline


def test_gpu_shows_exact_values_at_one_to_one(qtbot, decoded) -> None:
    _, _, full = decoded
    viewport = GLViewport()
    qtbot.addWidget(viewport)
    viewport.resize(400, 300)
    viewport.show()
    qtbot.waitExposed(viewport)
    preview = _preview(decoded)
    viewport.set_image(preview, DisplayTransform())
    viewport.grabFramebuffer()  # paint the reduced image once
    assert viewport.texture_level == 2
    preview.refine(full, display_levels(full.frame, (400, 300)))
    viewport.set_camera(Camera(1.0 / viewport.devicePixelRatioF(), 0.0, 0.0))
    shown = qimage_to_array(viewport.grabFramebuffer().convertToFormat(QImage.Format.Format_RGB888))[..., 0]
    assert viewport.texture_level == 0
    assert viewport.texture_from_full_resolution
    # Skip the corner text: compare a block in the middle of the viewport.
    rows, columns = slice(100, 200), slice(100, 300)
    expected = reference.render_uint8(viewport.pipeline, full.pixels[rows, columns])
    difference = np.abs(shown[rows, columns].astype(int) - expected.astype(int))
    assert difference.max() <= 1
