"""The DICOM grayscale display pipeline as data: stored value to display value.

PS3.3 C.11 and PS3.4 N.2: stored value -> Modality LUT (Rescale Slope/Intercept or Modality
LUT Sequence) -> VOI LUT (window with a VOI LUT Function, or VOI LUT Sequence) -> Presentation
LUT (IDENTITY or INVERSE; MONOCHROME1 inverts) -> display value in [0, 1].

:class:`DisplayPipeline` holds the parameters; :mod:`mammo_workstation.pipeline.reference`
applies them with numpy and :mod:`mammo_workstation.render.gl_renderer` with a shader. Both read
the same object, so they cannot disagree on which transform applies.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from pydicom.dataset import Dataset

from mammo_workstation.dicom.loader import window_presets

logger = logging.getLogger(__name__)


class VOIFunction(StrEnum):
    """VOI LUT Function (0028,1056), PS3.3 C.11.2.1.3."""

    LINEAR = "LINEAR"
    LINEAR_EXACT = "LINEAR_EXACT"
    SIGMOID = "SIGMOID"

    @classmethod
    def parse(cls, value: object) -> VOIFunction:
        """Parse a file's value leniently: case and space padding are ignored."""
        text = str(value or "").strip().upper().replace(" ", "_")
        if not text:
            return cls.LINEAR
        try:
            return cls(text)
        except ValueError:
            logger.warning("Unknown VOI LUT Function %r; using LINEAR (PS3.3 C.11.2.1.3)", value)
            return cls.LINEAR


@dataclass(frozen=True)
class LookupTable:
    """A LUT per PS3.3 C.11.1.1: ``data[i]`` maps input ``first_mapped + i``.

    Inputs below ``first_mapped`` map to the first entry, inputs past the end to the last.
    ``bits`` is the output bit depth, so outputs span 0 .. 2**bits - 1.
    """

    first_mapped: int
    data: np.ndarray
    bits: int
    explanation: str = ""

    @property
    def output_max(self) -> int:
        return (1 << self.bits) - 1


@dataclass(frozen=True)
class Window:
    """Window Center and Width (PS3.3 C.11.2.1.2) with the VOI LUT Function to apply."""

    center: float
    width: float
    function: VOIFunction = VOIFunction.LINEAR
    explanation: str = ""


@dataclass(frozen=True)
class DisplayPipeline:
    """Every parameter from stored value to display value for one frame."""

    bits_stored: int
    signed: bool
    rescale_slope: float = 1.0
    rescale_intercept: float = 0.0
    modality_lut: LookupTable | None = None
    window: Window | None = None
    voi_lut: LookupTable | None = None
    # Inverted after the VOI: MONOCHROME1, or Presentation LUT Shape INVERSE (PS3.3 C.11.6).
    invert: bool = False
    # Stored values shown black and excluded from automatic windows, inclusive range
    # (Pixel Padding Value and Pixel Padding Range Limit, PS3.3 C.7.5.1.1.2).
    padding: tuple[int, int] | None = None

    def with_window(self, window: Window) -> DisplayPipeline:
        """Return a copy that applies ``window`` instead of any VOI LUT."""
        return dataclasses.replace(self, window=window, voi_lut=None)

    def toggled_invert(self) -> DisplayPipeline:
        return dataclasses.replace(self, invert=not self.invert)

    def modality_range(self) -> tuple[float, float]:
        """The range of modality values the stored range can produce."""
        low = -(1 << (self.bits_stored - 1)) if self.signed else 0
        high = (1 << (self.bits_stored - 1)) - 1 if self.signed else (1 << self.bits_stored) - 1
        if self.modality_lut is not None:
            return 0.0, float(self.modality_lut.output_max)
        ends = (low * self.rescale_slope + self.rescale_intercept,
                high * self.rescale_slope + self.rescale_intercept)
        return min(ends), max(ends)


def pipeline_for(ds: Dataset, *, voi_index: int | None = None) -> DisplayPipeline:
    """Build the default pipeline of a grayscale image from its header.

    ``voi_index`` picks a window (0-based); without it the first window applies, else the
    first VOI LUT (PS3.3 C.11.2.1: one VOI transform at a time). When the file has neither,
    the caller sets an automatic window with :func:`automatic_window`.
    """
    bits_stored = int(ds.get("BitsStored", ds.get("BitsAllocated", 16)) or 16)
    signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    shape = str(ds.get("PresentationLUTShape", "") or "").strip().upper()
    function = VOIFunction.parse(ds.get("VOILUTFunction"))
    windows = windows_of(ds, function)
    window = None
    if windows:
        index = voi_index if voi_index is not None and 0 <= voi_index < len(windows) else 0
        window = windows[index]
    return DisplayPipeline(
        bits_stored=bits_stored,
        signed=signed,
        rescale_slope=float(ds.get("RescaleSlope", 1.0) or 1.0),
        rescale_intercept=float(ds.get("RescaleIntercept", 0.0) or 0.0),
        window=window,
        invert=photometric == "MONOCHROME1" or shape == "INVERSE",
        padding=padding_range(ds, bits_stored, signed),
    )


def windows_of(ds: Dataset, function: VOIFunction) -> list[Window]:
    """The file's windows as presets, each with the file's VOI LUT Function."""
    return [
        Window(preset.center, preset.width, function, preset.explanation)
        for preset in window_presets(ds)
    ]


def padding_range(ds: Dataset, bits_stored: int, signed: bool) -> tuple[int, int] | None:
    """Pixel Padding Value (and Range Limit) as stored values, sign-corrected.

    Files write the value as US or SS; a signed image whose padding was written as US (for
    example 63536 for -2000) is read back in the image's own signedness.
    """
    value = ds.get("PixelPaddingValue")
    if value is None:
        return None
    limit = ds.get("PixelPaddingRangeLimit")
    first = _as_stored(int(value), bits_stored, signed)
    last = _as_stored(int(limit), bits_stored, signed) if limit is not None else first
    return (min(first, last), max(first, last))


def _as_stored(value: int, bits_stored: int, signed: bool) -> int:
    if not signed:
        return value & 0xFFFF if value < 0 else value
    if value >= 1 << 15:  # Written as US: reinterpret the 16-bit pattern as signed.
        value -= 1 << 16
    return value


def automatic_window(
    pipeline: DisplayPipeline, stored: np.ndarray, function: VOIFunction = VOIFunction.LINEAR
) -> Window:
    """A window over the full range of modality values present, padding excluded.

    PS3.3 C.11.2.1.2.1 LINEAR maps x <= c - 0.5 - (w-1)/2 to black and x > c - 0.5 + (w-1)/2
    to white; with w = max - min + 1 and c = min + w/2, min maps to black and max to white.
    """
    values = stored
    if pipeline.padding is not None:
        low, high = pipeline.padding
        values = stored[(stored < low) | (stored > high)]
    if values.size == 0:
        values = stored
    minimum, maximum = _modality_extremes(pipeline, values)
    width = max(maximum - minimum + 1.0, 1.0)
    return Window(minimum + width / 2.0, width, function, "AUTO")


def _modality_extremes(pipeline: DisplayPipeline, values: np.ndarray) -> tuple[float, float]:
    from mammo_workstation.pipeline.reference import apply_modality

    low, high = int(values.min()), int(values.max())
    ends = apply_modality(pipeline, np.array([low, high], dtype=np.int64))
    return float(min(ends)), float(max(ends))
