"""The images the benchmarks open: the demo exam, and copies of it in other codecs or sizes.

The demo exam's current study is JPEG 2000 lossless and its prior RLE lossless. The other
codecs (HTJ2K, JPEG-LS, JPEG lossless) are made here by encoding the stored values of one
current image losslessly with imagecodecs, so a fresh clone needs no other data. The quick
(smoke) run uses the same exam downsampled four times in each direction.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    UID,
    ExplicitVRLittleEndian,
    HTJ2KLossless,
    JPEG2000Lossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
)

from mammo_workstation.dicom.decode import decode_frame

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "resources" / "demo" / "DEMO-0001"
CURRENT = DEMO / "2025-11-12_screening"
PRIOR = DEMO / "2023-10-30_screening"
VIEWS = ("RCC", "LCC", "RMLO", "LMLO")


@dataclass(frozen=True)
class Exam:
    current: Path
    prior: Path

    def files(self, which: str = "current") -> list[Path]:
        folder = self.current if which == "current" else self.prior
        return [folder / f"{view}.dcm" for view in VIEWS]


def demo_exam() -> Exam:
    return Exam(CURRENT, PRIOR)


def _with_pixels(template: Dataset, pixels: np.ndarray, syntax: UID, fragment: bytes | None) -> Dataset:
    ds = copy.deepcopy(template)
    ds.Rows, ds.Columns = pixels.shape
    ds.file_meta.TransferSyntaxUID = syntax
    if fragment is None:
        ds.PixelData = np.ascontiguousarray(pixels).tobytes()
        ds["PixelData"].VR = "OW"
    else:
        ds.PixelData = encapsulate([fragment])
        ds["PixelData"].VR = "OB"
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    return ds


def small_exam(folder: Path) -> Exam:
    """Write the demo exam downsampled 4 x 4 (JPEG 2000 current, uncompressed prior) once."""
    import imagecodecs

    exam = Exam(folder / "current", folder / "prior")
    if all(path.exists() for path in exam.files("current") + exam.files("prior")):
        return exam
    for which, syntax in (("current", JPEG2000Lossless), ("prior", ExplicitVRLittleEndian)):
        target = exam.current if which == "current" else exam.prior
        target.mkdir(parents=True, exist_ok=True)
        for source, destination in zip(demo_exam().files(which), exam.files(which), strict=True):
            template = pydicom.dcmread(source)
            pixels = np.ascontiguousarray(decode_frame(template, 0).pixels[::4, ::4])
            fragment = None
            if syntax == JPEG2000Lossless:
                fragment = bytes(imagecodecs.jpeg2k_encode(pixels, level=0, codecformat="J2K", reversible=True))
            _with_pixels(template, pixels, syntax, fragment).save_as(destination, enforce_file_format=True)
    return exam


def _encoders() -> dict[str, tuple[UID, Callable[[np.ndarray], bytes]]]:
    import imagecodecs

    return {
        "htj2k": (HTJ2KLossless, lambda pixels: bytes(imagecodecs.htj2k_encode(pixels))),
        "jpeg_ls": (JPEGLSLossless, lambda pixels: bytes(imagecodecs.jpegls_encode(pixels, level=0))),
        "jpeg_lossless": (JPEGLosslessSV1, lambda pixels: bytes(imagecodecs.ljpeg_encode(pixels))),
    }


def codec_files(folder: Path, crop: int | None = None) -> dict[str, Path]:
    """One file per codec (name to path), all holding the same stored values where made here.

    ``crop`` keeps the top-left ``crop`` x ``crop`` pixels of the transcoded images, for the
    quick run; the JPEG 2000 and RLE files are then the small exam's.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if crop is None:
        files = {"jpeg2000": CURRENT / "RCC.dcm", "rle": PRIOR / "RCC.dcm"}
    else:
        small = small_exam(folder / "small")
        files = {"jpeg2000": small.current / "RCC.dcm", "rle": _rle_copy(small.prior / "RCC.dcm", folder)}
    template = pydicom.dcmread(CURRENT / "RCC.dcm")
    pixels = template.pixel_array if crop is None else template.pixel_array[:crop, :crop]
    pixels = np.ascontiguousarray(pixels)
    for name, (syntax, encode) in _encoders().items():
        path = folder / f"{name}{'' if crop is None else f'-{crop}'}.dcm"
        if not path.exists():
            dataset = _with_pixels(template, pixels, syntax, encode(pixels))
            dataset.save_as(path, enforce_file_format=True)
        files[name] = path
    return files


def _rle_copy(source: Path, folder: Path) -> Path:
    path = folder / "rle-small.dcm"
    if not path.exists():
        ds = pydicom.dcmread(source)
        ds.compress(RLELossless)
        ds.save_as(path, enforce_file_format=True)
    return path
