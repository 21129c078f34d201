"""The GLSL shader against the numpy reference: within 1 grey level on every case.

Runs under Xvfb with Mesa's llvmpipe when no display is set. Each image is uploaded once and
drawn with every preset, as the viewer does while the user switches presets.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from mammo_workstation.dicom.decode import decode_frame, read_dataset
from mammo_workstation.pipeline import reference
from mammo_workstation.pipeline.grayscale import DisplayPipeline, VOIFunction, Window, pipeline_for
from mammo_workstation.pipeline.image import display_image_from
from mammo_workstation.pipeline.lut import LookupTable
from tests.conftest import DATA_DIR, data_path

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="session")
def gl() -> Iterator[object]:
    """One QApplication and one offscreen OpenGL 3.3 context for the whole session."""
    from mammo_workstation.render.xvfb import ensure_display

    ensure_display()
    from PySide6.QtGui import QGuiApplication, QSurfaceFormat
    from PySide6.QtWidgets import QApplication

    from mammo_workstation.render.gl_renderer import RendererError
    from mammo_workstation.render.offscreen import OffscreenGL, surface_format

    if QGuiApplication.instance() is None:
        QSurfaceFormat.setDefaultFormat(surface_format())
        QApplication(["mammo-workstation-tests"])
    if QGuiApplication.platformName() in ("offscreen", "minimal"):
        pytest.skip(f"Qt platform {QGuiApplication.platformName()!r} has no OpenGL; run under X or Xvfb")
    try:
        yield OffscreenGL()
    except RendererError as error:
        pytest.skip(f"no OpenGL 3.3 context: {error}")


def gpu_render(gl: object, pixels: np.ndarray, signed: bool,
               pipelines: list[DisplayPipeline]) -> list[np.ndarray]:
    height, width = pixels.shape[:2]
    images = gl.render_pipelines(pixels, signed, pipelines, np.eye(3), (width, height))  # type: ignore[attr-defined]
    return [image[..., 0].astype(np.int16) for image in images]


def assert_within_one(gpu: np.ndarray, pipeline: DisplayPipeline, stored: np.ndarray, label: str) -> None:
    expected = reference.render_uint8(pipeline, stored).astype(np.int16)
    difference = np.abs(gpu - expected)
    worst = int(difference.max())
    assert worst <= 1, f"{label}: {int((difference > 1).sum())} pixels differ by up to {worst}"


# -- Constructed pipelines -------------------------------------------------------------------


def ramp(low: int, high: int, dtype: type) -> np.ndarray:
    """Every value from low to high, as a 2-D image 256 columns wide."""
    values = np.arange(low, high + 1)
    rows = -(-len(values) // 256)
    padded = np.resize(values, rows * 256)
    return padded.reshape(rows, 256).astype(dtype)


def unsigned_pipelines() -> list[tuple[str, DisplayPipeline]]:
    base = DisplayPipeline(bits_stored=12, signed=False)
    lut = LookupTable(1000, (np.arange(2048) * 2).astype(np.uint16), 12, "RAMP")
    modality = LookupTable(0, (4095 - np.arange(4096)).astype(np.uint16), 12)
    return [
        ("linear", base.with_window(Window(2000, 1001, VOIFunction.LINEAR))),
        ("linear width 1", base.with_window(Window(2000, 1, VOIFunction.LINEAR))),
        ("linear exact", base.with_window(Window(2000.5, 999.5, VOIFunction.LINEAR_EXACT))),
        ("sigmoid", base.with_window(Window(2000, 800, VOIFunction.SIGMOID))),
        ("voi lut", base.with_voi_lut(lut)),
        ("voi lut adjusted", base.with_voi_lut(lut).window_leveled(2100, 1500)),
        ("no voi", base),
        ("rescale", dataclasses.replace(base, rescale_slope=0.5, rescale_intercept=-100)
            .with_window(Window(700, 1200))),
        ("modality lut", dataclasses.replace(base, modality_lut=modality).with_window(Window(1500, 900))),
        ("padding range", dataclasses.replace(base, padding=(0, 30)).with_window(Window(200, 400))),
        ("inverted", base.with_window(Window(2000, 1001)).toggled_invert()),
        ("inverted with padding", dataclasses.replace(base, padding=(4000, 4095), invert=True)
            .with_window(Window(2000, 4096))),
    ]


@pytest.mark.parametrize(("label", "pipeline"), unsigned_pipelines(), ids=[c[0] for c in unsigned_pipelines()])
def test_shader_matches_reference(gl: object, label: str, pipeline: DisplayPipeline) -> None:
    stored = ramp(0, 4095, np.uint16)
    (gpu,) = gpu_render(gl, stored, False, [pipeline])
    assert_within_one(gpu, pipeline, stored, label)


def test_shader_signed_data(gl: object) -> None:
    stored = ramp(-32768, 32767, np.int16)
    base = DisplayPipeline(bits_stored=16, signed=True, padding=(-2000, -2000))
    lut = LookupTable(-1024, np.arange(4096, dtype=np.uint16), 12)
    modality = dataclasses.replace(base, modality_lut=LookupTable(-2048, np.arange(4096, dtype=np.uint16), 12))
    pipelines = [
        base.with_window(Window(40, 400)),
        base.with_window(Window(-500, 3000, VOIFunction.SIGMOID)),
        base.with_voi_lut(lut),
        modality.with_window(Window(2048, 4096)),
        base,
    ]
    for index, (gpu, pipeline) in enumerate(zip(gpu_render(gl, stored, True, pipelines), pipelines, strict=True)):
        assert_within_one(gpu, pipeline, stored, f"signed case {index}")


def test_shader_per_frame_and_voi_lut_from_header(gl: object) -> None:
    ds = Dataset()
    ds.BitsAllocated, ds.BitsStored, ds.PixelRepresentation = 16, 16, 0
    ds.PhotometricInterpretation = "MONOCHROME1"
    item = Dataset()
    item.LUTDescriptor = [0, 0, 16]  # 65536 entries
    item.add_new(0x00283006, "OW", (np.arange(65536) ^ 0x5A5A).astype("<u2").tobytes())
    ds.VOILUTSequence = Sequence([item])
    pipeline = pipeline_for(ds)
    stored = ramp(0, 65535, np.uint16)
    (gpu,) = gpu_render(gl, stored, False, [pipeline])
    assert_within_one(gpu, pipeline, stored, "65536-entry VOI LUT on MONOCHROME1")


# -- Every mammogram and LUT file, every preset ----------------------------------------------

# The CBIS-DDSM originals and the other DEMO-0002 views contain the same pixels as the DEMO-0001
# prior, inverted for DEMO-0002. The files below cover every pipeline path they take.
FILES = [
    *(f"exams/DEMO-0001/2023-10-30_screening/{v}.dcm" for v in ("RCC", "LCC", "RMLO", "LMLO")),
    *(f"exams/DEMO-0001/2025-11-12_screening/{v}.dcm" for v in ("RCC", "LCC", "RMLO", "LMLO")),
    *(f"exams/DEMO-0002/2025-11-13_screening/{v}.dcm" for v in ("RCC", "RCC_SPOT")),
    "real/cbis-ddsm/P_00820/LMLO.dcm",
    "real/mg/GH133.dcm",
    "real/headers/MG-Im-GE_Seno_1_ForPresentation.dcm",
    "real/headers/MG-Im-GE-SenDS-scaled.dcm",
    "real/headers/jpeg2k_3d.dcm",
    "real/decoding/pydicom-data/mlut_18.dcm",
    "real/decoding/nema-wg04/CT1_UNC.dcm",
    "real/decoding/pylibjpeg-data/J2K_pixelrep_mismatch.dcm",
]


@pytest.mark.parametrize("relative", FILES, ids=[Path(f).parent.name + "/" + Path(f).name for f in FILES])
def test_gpu_matches_numpy_on_files(gl: object, relative: str) -> None:
    if not DATA_DIR.is_dir():
        pytest.skip(f"shared test data not found at {DATA_DIR}")
    path = data_path(relative)
    dataset = read_dataset(path)
    decoded = decode_frame(dataset, name=path.name)
    image = display_image_from(path, dataset, decoded)
    pipelines = [*image.presets, image.pipeline.toggled_invert()]
    if image.pipeline.voi_lut is not None or image.voi_lut_count:
        lut_preset = image.presets[image.window_count]
        start = lut_preset.current_window()
        pipelines.append(lut_preset.window_leveled(start.center - start.width / 10, start.width * 0.8))
    rendered = gpu_render(gl, decoded.pixels, decoded.signed, pipelines)
    for gpu, pipeline in zip(rendered, pipelines, strict=True):
        assert_within_one(gpu, pipeline, decoded.pixels, f"{relative} {pipeline.voi_label}")
