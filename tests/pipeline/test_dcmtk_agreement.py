"""The display pipeline against dcmtk's dcmj2pnm on the shared mammograms and LUT files.

dcmj2pnm (dcmtk 3.6.7) renders each case with the equivalent options; our numpy reference must
agree within 1 grey level. Where dcmj2pnm cannot read a case, the comparison uses the nearest
thing it can do:

- JPEG 2000 mammograms: dcmtk has no JPEG 2000 decoder, so it reads an uncompressed copy that
  pydicom decoded with pylibjpeg-openjpeg (our decoder is imagecodecs).
- Per-frame windows in functional groups: dcmtk 3.6.7 reads no Frame VOI LUT Sequence, so it
  gets the frame's window explicitly with ``+Ww``.
- Pixel Padding Value: dcmtk does not black out padding, so padding pixels are left out of
  the comparison and checked to be black on their own.

LINEAR_EXACT (dcmtk 3.6.7 has no option for it) and the For Processing percentile window are
checked against the standard's formulas in test_pipeline_voi.py instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pydicom
import pytest

from mammo_workstation.commands.render import render_software
from mammo_workstation.dicom.decode import DecodedFrame, decode_frame, read_dataset
from mammo_workstation.pipeline.grayscale import VOIFunction
from mammo_workstation.pipeline.image import DisplayImage, display_image_from
from tests.conftest import DATA_DIR, data_path
from tests.pipeline.dcmtk import DCMJ2PNM, dcmj2pnm

pytestmark = pytest.mark.skipif(DCMJ2PNM is None, reason="dcmtk's dcmj2pnm is not installed")

JPEG2000 = {"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"}


@dataclass(frozen=True)
class Case:
    """One rendering: the file, our options and dcmj2pnm's equivalent flags."""

    path: str
    dcmtk: tuple[str, ...]
    window: int | None = None  # 1-based, like --window
    voi_lut: int | None = None  # 1-based, like --voi-lut
    function: str | None = None
    invert: bool = False
    frame: int = 1
    # dcmtk's min-max window keeps padding in; this computes the unpadded one for +Ww instead.
    unpadded_min_max: bool = False

    @property
    def id(self) -> str:
        flags = "unpadded min-max" if self.unpadded_min_max else " ".join(self.dcmtk)
        return f"{self.path.split('/', 1)[-1]}:{flags}"


PRIOR = "exams/DEMO-0001/2023-10-30_screening"
CURRENT = "exams/DEMO-0001/2025-11-12_screening"
DEMO2 = "exams/DEMO-0002/2025-11-13_screening"
GH133 = "real/mg/GH133.dcm"
SENO1 = "real/headers/MG-Im-GE_Seno_1_ForPresentation.dcm"
SENO2 = "real/headers/MG-Im-GE_Seno_2_ForPresentation.dcm"


def _cases() -> list[Case]:
    cases = []
    for view in ("RCC", "LCC", "RMLO", "LMLO"):
        # The prior: RLE, SIGMOID with three windows; the first window is also the default.
        cases.append(Case(f"{PRIOR}/{view}.dcm", ("+Wi", "1")))
        cases += [Case(f"{PRIOR}/{view}.dcm", ("+Wi", str(n)), window=n) for n in (2, 3)]
        # The current exam: JPEG 2000, LINEAR with two windows.
        cases += [Case(f"{CURRENT}/{view}.dcm", ("+Wi", str(n)), window=n) for n in (1, 2)]
        # CBIS-DDSM originals: no window at all, so the min-max window applies.
        cases.append(Case(f"real/cbis-ddsm/P_00820/{view}.dcm", ("+Wm",)))
    for view in ("RCC", "LCC", "RMLO", "RCC_SPOT"):
        # MONOCHROME1 with Presentation LUT Shape INVERSE: inverted once.
        cases += [Case(f"{DEMO2}/{view}.dcm", ("+Wi", str(n)), window=n) for n in (1, 2)]
    cases += [Case(GH133, ("+Wi", str(n)), window=n) for n in (1, 2, 3)]
    cases += [Case(GH133, ("+Wl", str(n)), voi_lut=n) for n in (1, 2, 3)]
    cases.append(Case(GH133, ("+Wi", "1", "+Wfl"), window=1, function="linear"))
    cases.append(Case(GH133, ("+Wi", "2", "+P"), window=2, invert=True))
    cases.append(Case(f"{DEMO2}/RCC.dcm", ("+Wi", "1", "+P"), window=1, invert=True))
    cases.append(Case(f"{PRIOR}/RCC.dcm", ("+Wi", "1", "+Wfl"), window=1, function="linear"))
    for header in (SENO1, SENO2):
        cases += [Case(header, ("+Wi", str(n)), window=n) for n in (1, 2, 3)]
        cases += [Case(header, ("+Wl", str(n)), voi_lut=n) for n in (1, 2, 3)]
    # Modality LUT Sequence on signed 12-bit data, no window: min-max over the LUT output.
    cases.append(Case("real/decoding/pydicom-data/mlut_18.dcm", ("+Wm",)))
    # Pixel Padding Value -2000 and no window: the automatic window leaves the padding out.
    cases.append(Case("real/decoding/nema-wg04/CT1_UNC.dcm", (), unpadded_min_max=True))
    # The same CT as RLE with odd-length fragments and one pad byte.
    cases.append(Case("real/decoding/fo-dicom/D_CLUNIE_CT1_RLE_FRAGS.dcm", (), unpadded_min_max=True))
    cases.append(Case("real/decoding/pydicom-data/693_UNCI.dcm", ("+Wi", "1"), window=1))
    # JPEG 2000 whose codestream is unsigned while the header says signed.
    cases += [Case("real/decoding/pylibjpeg-data/J2K_pixelrep_mismatch.dcm", ("+Wi", str(n)), window=n)
              for n in (1, 3)]
    cases.append(Case("real/decoding/weasis/mono2-CT-16bit.dcm", ("+Wi", "1"), window=1))
    cases.append(Case("real/decoding/weasis/signed-raw-9bit.dcm", ("+Wm",)))
    cases.append(Case("real/decoding/dcm4che/test16signed.dcm", ("+Wm",)))
    # 12 bits stored in 16 with overlay planes in bits 14 and 15: the high bits must not count.
    cases.append(Case("real/decoding/weasis/overlay.dcm", ("+Wm", "-O")))  # -O: no overlays
    cases.append(Case("real/decoding/highdicom/dx_image.dcm", ("+Wi", "1"), window=1))
    return cases


CASES = _cases()


@lru_cache(maxsize=1)
def _decoded(relative: str, frame: int) -> tuple[pydicom.Dataset, DecodedFrame]:
    """Decode once for all the cases of a file (the cases are listed file by file)."""
    dataset = read_dataset(data_path(relative))
    return dataset, decode_frame(dataset, frame - 1, name=relative)


def _ours(case: Case) -> tuple[DisplayImage, np.ndarray]:
    dataset, decoded = _decoded(case.path, case.frame)
    function = VOIFunction.parse(case.function) if case.function else None
    image = display_image_from(
        data_path(case.path), dataset, decoded,
        None if case.window is None else case.window - 1,
        frame=case.frame - 1,
        voi_lut_index=None if case.voi_lut is None else case.voi_lut - 1,
        function=function,
    )
    if case.invert:
        image.pipeline = image.pipeline.toggled_invert()
    return image, render_software(image).astype(np.int16)


def _dcmtk_input(relative: str, folder: Path) -> Path:
    """The file dcmj2pnm reads: the original, or an uncompressed copy of a JPEG 2000 file."""
    path = data_path(relative)
    dataset = pydicom.dcmread(path)
    if str(dataset.file_meta.TransferSyntaxUID) not in JPEG2000:
        return path
    copy = folder / (relative.replace("/", "_"))
    if not copy.exists():
        dataset.decompress(decoding_plugin="pylibjpeg")
        dataset.save_as(copy)
    return copy


def _unpadded_min_max_flags(image: DisplayImage) -> tuple[str, ...]:
    """dcmtk's min-max window formula (centre (min+max+1)/2, width max-min+1) without padding."""
    dataset = image.dataset
    padding = int(dataset.PixelPaddingValue)
    stored = image.pixels[image.pixels != padding].astype(np.float64)
    slope, intercept = float(dataset.get("RescaleSlope", 1)), float(dataset.get("RescaleIntercept", 0))
    low, high = stored.min() * slope + intercept, stored.max() * slope + intercept
    return ("+Ww", str(float((low + high + 1) / 2)), str(float(high - low + 1)))


@pytest.fixture(scope="module")
def dcmtk_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not DATA_DIR.is_dir():
        pytest.skip(f"shared test data not found at {DATA_DIR}")
    return tmp_path_factory.mktemp("dcmtk")


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_render_matches_dcmj2pnm(case: Case, dcmtk_folder: Path) -> None:
    image, ours = _ours(case)
    flags = _unpadded_min_max_flags(image) if case.unpadded_min_max else case.dcmtk
    expected = dcmj2pnm(_dcmtk_input(case.path, dcmtk_folder), flags, dcmtk_folder / "out.pgm")
    assert ours.shape == expected.shape
    compared = np.ones(ours.shape, dtype=bool)
    padding = image.pipeline.padding
    if padding is not None:
        stored = image.pixels
        padded = (stored >= padding[0]) & (stored <= padding[1])
        assert not ours[padded].any(), "Pixel Padding Value pixels must be black"
        compared = ~padded
    difference = np.abs(ours - expected)[compared]
    worst = int(difference.max()) if difference.size else 0
    assert worst <= 1, f"{case.id}: {int((difference > 1).sum())} pixels differ by up to {worst}"


def test_per_frame_window_matches_dcmj2pnm(dcmtk_folder: Path) -> None:
    """Frame VOI LUT Sequence per frame: dcmtk gets each frame's window with +Ww."""
    relative = "real/decoding/nema-wg04/BRTUM001.dcm"
    dataset = read_dataset(data_path(relative))
    for frame in (1, 8, 15):
        voi = dataset.PerFrameFunctionalGroupsSequence[frame - 1].FrameVOILUTSequence[0]
        flags = ("+F", str(frame), "+Ww", str(voi.WindowCenter), str(voi.WindowWidth))
        image = display_image_from(data_path(relative), dataset, decode_frame(dataset, frame - 1),
                                   frame=frame - 1)
        assert image.pipeline.window is not None
        assert image.pipeline.window.center == float(voi.WindowCenter)
        expected = dcmj2pnm(data_path(relative), flags, dcmtk_folder / "frame.pgm")
        worst = int(np.abs(render_software(image).astype(np.int16) - expected).max())
        assert worst <= 1, f"frame {frame}: differs by up to {worst}"


def test_jpeg2000_sign_mismatch_decodes_like_pydicom() -> None:
    """An unsigned codestream under Pixel Representation 1: two's complement values kept."""
    for relative in ("real/decoding/pylibjpeg-data/J2K_pixelrep_mismatch.dcm",
                     "real/decoding/pylibjpeg-data/TOSHIBA_J2K_SIZ0_PixRep1.dcm",
                     "real/decoding/pydicom-data/693_J2KR.dcm"):
        dataset = read_dataset(data_path(relative))
        decoded = decode_frame(dataset)
        assert decoded.warnings, f"{relative}: the header mismatch must be reported"
        np.testing.assert_array_equal(decoded.pixels, dataset.pixel_array, err_msg=relative)


CLI_CASES = [
    ((), ("+Wi", "1")),
    (("--window", "2"), ("+Wi", "2")),
    (("--voi-lut", "3"), ("+Wl", "3")),
    (("--window", "1", "--function", "linear"), ("+Wi", "1", "+Wfl")),
    (("--voi-lut", "1", "--invert"), ("+Wl", "1", "+P")),
]


@pytest.mark.parametrize(("options", "flags"), CLI_CASES, ids=[" ".join(c[0]) or "default" for c in CLI_CASES])
def test_render_command_matches_dcmj2pnm(options: tuple[str, ...], flags: tuple[str, ...],
                                         dcmtk_folder: Path) -> None:
    """``mammo-workstation render`` itself, on the real GE mammogram (Pixel Padding 0 to 30)."""
    from PySide6.QtGui import QImage

    from mammo_workstation.cli import main

    path = data_path(GH133)
    out = dcmtk_folder / "cli.png"
    assert main(["render", str(path), "--out", str(out), "--software", *options]) == 0
    png = QImage(str(out)).convertToFormat(QImage.Format.Format_Grayscale8)
    assert (png.width(), png.height()) == (2394, 3062)
    ours = np.frombuffer(png.constBits(), dtype=np.uint8).reshape(png.height(), png.bytesPerLine())
    ours = ours[:, : png.width()].astype(np.int16)
    expected = dcmj2pnm(path, flags, dcmtk_folder / "cli.pgm")
    stored = decode_frame(read_dataset(path)).pixels
    unpadded = stored > 30
    assert not ours[~unpadded].any(), "Pixel Padding Value 0..30 must be black"
    worst = int(np.abs(ours - expected)[unpadded].max())
    assert worst <= 1, f"render {' '.join(options)}: differs from dcmj2pnm by up to {worst}"


def test_render_command_rejects_missing_voi_lut(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mammo_workstation.cli import main

    path = data_path(f"{CURRENT}/RCC.dcm")
    assert main(["render", str(path), "--out", str(tmp_path / "x.png"), "--software", "--voi-lut", "1"]) == 2
    assert "VOI LUT 1 requested, the image has 0" in capsys.readouterr().err


def test_render_command_overlays_match_dcmj2pnm(dcmtk_folder: Path) -> None:
    """``render --overlays``: all four planes (two in Overlay Data, two in high bits) in white."""
    from PySide6.QtGui import QImage

    from mammo_workstation.cli import main

    path = data_path("real/decoding/weasis/overlay.dcm")
    out = dcmtk_folder / "overlays.png"
    assert main(["render", str(path), "--out", str(out), "--software", "--overlays"]) == 0
    png = QImage(str(out)).convertToFormat(QImage.Format.Format_Grayscale8)
    ours = np.frombuffer(png.constBits(), dtype=np.uint8).reshape(png.height(), png.bytesPerLine())
    ours = ours[:, : png.width()].astype(np.int16)
    expected = dcmj2pnm(path, ("+Wm",), dcmtk_folder / "overlays.pgm")  # dcmj2pnm shows all overlays
    worst = int(np.abs(ours - expected).max())
    assert worst <= 1, f"render --overlays differs from dcmj2pnm by up to {worst}"
