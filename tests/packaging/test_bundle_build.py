"""Build the PyInstaller bundle and run the frozen program on the demo exam.

Runs in CI (``CI=true``) and wherever ``MAMMO_BUILD_BUNDLE=1`` is set. ``MAMMO_BUILD_BUNDLE=0``
skips it. The module took 83 s on 2 cores with a warm pip cache (docs/packaging.md).
The frozen ``screenshot`` must show four filled views and match the checkout's own screenshot
(exactly for the RLE prior, within a tolerance for the progressively loaded current exam). The frozen ``render`` must decode five lossless transfer syntaxes to the same
pixels as the uncompressed file.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    UID,
    ExplicitVRLittleEndian,
    HTJ2KLossless,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLossless,
    JPEGLSLossless,
    RLELossless,
)

REPO = Path(__file__).resolve().parents[2]
BUNDLE = REPO / "dist" / "pyinstaller" / "mammo-workstation"
FROZEN = BUNDLE / "mammo-workstation"
BUNDLED_DEMO = BUNDLE / "_internal" / "resources" / "demo" / "DEMO-0001"
DEMO_LCC = REPO / "resources" / "demo" / "DEMO-0001" / "2025-11-12_screening" / "LCC.dcm"
BUILD_TIMEOUT_S = 1800
RUN_TIMEOUT_S = 180


def bundle_build_requested() -> bool:
    choice = os.environ.get("MAMMO_BUILD_BUNDLE", "")
    if choice in ("0", "1"):
        return choice == "1"
    return os.environ.get("CI", "").lower() == "true"


pytestmark = [
    pytest.mark.bundle,
    pytest.mark.skipif(not bundle_build_requested(),
                       reason="builds the PyInstaller bundle; set MAMMO_BUILD_BUNDLE=1 (CI sets CI=true)"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the smoke test is Linux only"),
]


@pytest.fixture(scope="module")
def frozen_program() -> Path:
    """Build the bundle once for the module with packaging/build-pyinstaller.sh."""
    result = subprocess.run(
        [str(REPO / "packaging" / "build-pyinstaller.sh")],
        capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False,
    )
    assert result.returncode == 0, f"build failed:\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
    assert FROZEN.is_file()
    return FROZEN


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
    assert result.returncode == 0, f"{' '.join(command)} exited {result.returncode}:\n{result.stderr[-4000:]}"
    return result


def read_rgb(path: Path) -> np.ndarray:
    """Read a PNG as rows x columns x 3 uint8 (Qt, so no imaging library is needed)."""
    from PySide6.QtGui import QImage

    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    assert not image.isNull(), f"cannot read {path}"
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return pixels[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def tissue_fraction(region: np.ndarray) -> float:
    """Share of pixels that are grey (R = G = B) and brighter than the background (> 60)."""
    grey = (region[..., 0] == region[..., 1]) & (region[..., 1] == region[..., 2])
    return float(np.mean(grey & (region[..., 0] > 60)))


def test_frozen_version(frozen_program: Path) -> None:
    import mammo_workstation

    result = run([str(frozen_program), "--version"])

    assert result.stdout.strip() == f"mammo-workstation {mammo_workstation.__version__}"


@pytest.mark.parametrize("plugin", [
    "platforms/libqxcb.so", "platforms/libqwayland.so", "platforms/libqoffscreen.so",
    "xcbglintegrations/libqxcb-glx-integration.so", "xcbglintegrations/libqxcb-egl-integration.so",
])
def test_bundle_has_qt_plugin(frozen_program: Path, plugin: str) -> None:
    assert (BUNDLE / "_internal" / "PySide6" / "Qt" / "plugins" / plugin).is_file()


@pytest.mark.parametrize("distribution", ["pylibjpeg_openjpeg", "pylibjpeg_libjpeg", "pylibjpeg_rle"])
def test_bundle_has_plugin_entry_points(frozen_program: Path, distribution: str) -> None:
    found = sorted((BUNDLE / "_internal").glob(f"{distribution}-*.dist-info/entry_points.txt"))

    assert len(found) == 1, found
    assert "pylibjpeg.pixel_data_decoders" in found[0].read_text()


@pytest.mark.parametrize("name", ["LICENSE", "README.md"])
def test_bundle_has_notice(frozen_program: Path, name: str) -> None:
    assert (BUNDLE / "_internal" / name).is_file()


def test_frozen_hang_uses_bundled_protocol(frozen_program: Path) -> None:
    result = run([str(frozen_program), "hang", "--json", str(BUNDLED_DEMO)])
    hanging = json.loads(result.stdout)

    source = Path(hanging["protocol_source"])

    assert source.suffix == ".toml"
    assert source.is_relative_to(BUNDLE / "_internal" / "mammo_workstation" / "hanging" / "protocols"), source


def screenshot_pair(frozen_program: Path, study: Path, tmp_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Screenshot ``study`` with the frozen program and with the checkout, 1600 x 1000 each."""
    frozen_png = tmp_path / "frozen.png"
    checkout_png = tmp_path / "checkout.png"
    run([str(frozen_program), "screenshot", str(study), "--out", str(frozen_png), "--size", "1600x1000"])
    run([sys.executable, "-m", "mammo_workstation", "screenshot", str(study),
         "--out", str(checkout_png), "--size", "1600x1000"])
    return read_rgb(frozen_png), read_rgb(checkout_png)


def test_frozen_screenshot_shows_four_views(frozen_program: Path, tmp_path: Path) -> None:
    frozen, checkout = screenshot_pair(frozen_program, BUNDLED_DEMO, tmp_path)

    assert frozen.shape == (1000, 1600, 3)
    # The viewports fill the window between the menu bar and the status bar, about 30 px each.
    # The 2 x 2 screening hanging puts one view in each quadrant.
    body = frozen[40:-40]
    half_rows, half_columns = body.shape[0] // 2, body.shape[1] // 2
    quadrants = {
        "top left": body[:half_rows, :half_columns],
        "top right": body[:half_rows, half_columns:],
        "bottom left": body[half_rows:, :half_columns],
        "bottom right": body[half_rows:, half_columns:],
    }
    for name, quadrant in quadrants.items():
        assert tissue_fraction(quadrant) > 0.02, f"no image in the {name} viewport"
    # NOTE: the current exam is JPEG 2000, which loads progressively, and a screenshot can
    # catch one image still at its reduced-resolution decode. Seen here: 19,471 pixels off by
    # a median of 1 grey level, 116 of them by more than 32. Hence a tolerance, and the exact
    # comparison on the RLE prior below.
    difference = np.abs(frozen.astype(int) - checkout.astype(int)).max(axis=2)
    assert difference.mean() < 0.25, f"mean difference {difference.mean():.3f} grey levels"
    assert (difference > 32).sum() < 1000, f"{(difference > 32).sum()} pixels differ by more than 32"


def test_frozen_screenshot_matches_checkout(frozen_program: Path, tmp_path: Path) -> None:
    """The RLE prior decodes in one step, so the frozen window must match pixel for pixel."""
    prior = BUNDLED_DEMO / "2023-10-30_screening"
    frozen, checkout = screenshot_pair(frozen_program, prior, tmp_path)

    differing = np.any(frozen != checkout, axis=2)
    assert differing.sum() == 0, f"{differing.sum()} pixels differ from the checkout's screenshot"
    assert tissue_fraction(frozen[40:-40]) > 0.02


def write_variant(source: Dataset, syntax: UID, path: Path) -> None:
    """Write ``source`` (decoded) in ``syntax``, encoding with pydicom's plugins or imagecodecs."""
    import imagecodecs

    dataset = copy.deepcopy(source)
    pixels = source.pixel_array
    if syntax == ExplicitVRLittleEndian:
        dataset.PixelData = pixels.tobytes()
        dataset.file_meta.TransferSyntaxUID = syntax
    elif syntax == HTJ2KLossless:
        frame = imagecodecs.htj2k_encode(pixels, level=0)
        dataset.PixelData = encapsulate([bytes(frame)])
        dataset.file_meta.TransferSyntaxUID = syntax
    elif syntax == JPEGLossless:
        # liblj92 writes selection value (predictor) 6, so this is JPEG Lossless, not SV1.
        frame = imagecodecs.ljpeg_encode(pixels, bitspersample=int(source.BitsStored))
        dataset.PixelData = encapsulate([bytes(frame)])
        dataset.file_meta.TransferSyntaxUID = syntax
    else:
        dataset.PixelData = pixels.tobytes()
        dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        dataset.compress(syntax, pixels)
    if dataset.file_meta.TransferSyntaxUID.is_compressed:
        dataset["PixelData"].VR = "OB"
    dataset.save_as(path, enforce_file_format=True)


@pytest.mark.parametrize("syntax", [RLELossless, JPEGLSLossless, JPEG2000Lossless, HTJ2KLossless, JPEGLossless],
                         ids=lambda uid: uid.name)
def test_frozen_render_decodes(frozen_program: Path, tmp_path: Path, syntax: UID) -> None:
    source = dcmread(DEMO_LCC)
    reference_dcm, variant_dcm = tmp_path / "reference.dcm", tmp_path / "variant.dcm"
    write_variant(source, ExplicitVRLittleEndian, reference_dcm)
    write_variant(source, syntax, variant_dcm)

    run([str(frozen_program), "render", str(reference_dcm), "--out", str(tmp_path / "reference.png")])
    # With -v the program logs at INFO, the level at which mammo_workstation.dicom.decode
    # reports a fall back from imagecodecs to pydicom. The bundled imagecodecs must decode.
    result = run([str(frozen_program), "-v", "render", str(variant_dcm), "--out", str(tmp_path / "variant.png")])

    assert dcmread(variant_dcm).file_meta.TransferSyntaxUID == syntax
    if syntax != RLELossless:
        assert "imagecodecs could not decode" not in result.stderr, result.stderr[-2000:]
    np.testing.assert_array_equal(read_rgb(tmp_path / "variant.png"), read_rgb(tmp_path / "reference.png"))


def write_jpeg_baseline(source: Dataset, path: Path) -> None:
    """Write ``source`` as 8-bit JPEG Baseline, a syntax the viewer leaves to pydicom's plugins."""
    import imagecodecs

    dataset = copy.deepcopy(source)
    pixels = (source.pixel_array >> (int(source.BitsStored) - 8)).astype(np.uint8)
    for keyword in ("VOILUTSequence", "WindowCenter", "WindowWidth", "WindowCenterWidthExplanation"):
        if keyword in dataset:
            delattr(dataset, keyword)
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit = 8, 8, 7
    dataset.WindowCenter, dataset.WindowWidth = 128, 256
    dataset.LossyImageCompression = "01"
    dataset.PixelData = encapsulate([bytes(imagecodecs.jpeg8_encode(pixels, level=90))])
    dataset["PixelData"].VR = "OB"
    dataset.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    dataset.save_as(path, enforce_file_format=True)


def test_frozen_render_uses_pydicom_plugins(frozen_program: Path, tmp_path: Path) -> None:
    """JPEG Baseline reaches pydicom's pylibjpeg plugin, found through pylibjpeg's entry points."""
    jpeg_dcm = tmp_path / "baseline.dcm"
    write_jpeg_baseline(dcmread(DEMO_LCC), jpeg_dcm)

    result = run([str(frozen_program), "-v", "render", str(jpeg_dcm), "--out", str(tmp_path / "frozen.png")])
    run([sys.executable, "-m", "mammo_workstation", "render", str(jpeg_dcm), "--out", str(tmp_path / "checkout.png")])

    assert "no decoder" not in result.stderr, result.stderr[-2000:]
    frozen = read_rgb(tmp_path / "frozen.png")
    np.testing.assert_array_equal(frozen, read_rgb(tmp_path / "checkout.png"))
    assert frozen.std() > 10, "the rendered image is flat; the window or the decode is wrong"
