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
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

import numpy as np
from pydicom.dataset import Dataset

from mammo_workstation.pipeline.frames import frame_attributes
from mammo_workstation.pipeline.lut import LookupTable, LUTError, lut_from_item

logger = logging.getLogger(__name__)

_Choice = TypeVar("_Choice")


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
class Window:
    """Window Center and Width (PS3.3 C.11.2.1.2) with the VOI LUT Function to apply."""

    center: float
    width: float
    function: VOIFunction = VOIFunction.LINEAR
    explanation: str = ""


@dataclass(frozen=True)
class DisplayPipeline:
    """Every parameter from stored value to display value for one frame.

    Exactly one VOI transform applies (PS3.3 C.11.2.1): ``window`` when set, else ``voi_lut``,
    else a linear ramp over the whole modality range. ``voi_lut_window`` is a user's
    window/level on top of a VOI LUT: the LUT keeps its shape and its input axis is moved and
    stretched so that the LUT's equivalent window (:meth:`current_window`) lands there.
    """

    bits_stored: int
    signed: bool
    rescale_slope: float = 1.0
    rescale_intercept: float = 0.0
    modality_lut: LookupTable | None = None
    window: Window | None = None
    voi_lut: LookupTable | None = None
    voi_lut_window: tuple[float, float] | None = None
    # Inverted after the VOI: MONOCHROME1, or Presentation LUT Shape INVERSE (PS3.3 C.11.6).
    invert: bool = False
    # Stored values shown black and excluded from automatic windows, inclusive range
    # (Pixel Padding Value and Pixel Padding Range Limit, PS3.3 C.7.5.1.1.2).
    padding: tuple[int, int] | None = None

    def with_window(self, window: Window) -> DisplayPipeline:
        """Return a copy that applies ``window`` instead of any VOI LUT."""
        return dataclasses.replace(self, window=window, voi_lut=None, voi_lut_window=None)

    def with_voi_lut(self, lut: LookupTable) -> DisplayPipeline:
        """Return a copy that applies ``lut`` instead of any window."""
        return dataclasses.replace(self, window=None, voi_lut=lut, voi_lut_window=None)

    def toggled_invert(self) -> DisplayPipeline:
        return dataclasses.replace(self, invert=not self.invert)

    def current_window(self) -> Window:
        """The window a user's window/level drag starts from.

        A window is itself; a VOI LUT gives its equivalent window (centre and width of its
        input range, or the user's window on it); no VOI gives the modality range.
        """
        if self.window is not None:
            return self.window
        if self.voi_lut is not None:
            center, width = self.voi_lut_window or lut_equivalent_window(self.voi_lut)
            return Window(center, width, VOIFunction.LINEAR, self.voi_lut.explanation)
        low, high = self.modality_range()
        return Window((low + high + 1.0) / 2.0, max(high - low + 1.0, 1.0))

    def window_leveled(self, center: float, width: float) -> DisplayPipeline:
        """Return a copy with the user's window/level, keeping the VOI's shape.

        A SIGMOID or LINEAR_EXACT window keeps its function and a VOI LUT keeps its table, so
        the image changes smoothly from where it was instead of jumping to a linear window.
        """
        width = max(float(width), 1e-6)
        if self.voi_lut is not None:
            return dataclasses.replace(self, voi_lut_window=(float(center), width))
        function = self.window.function if self.window is not None else VOIFunction.LINEAR
        if function is VOIFunction.LINEAR:
            width = max(width, 1.0)  # PS3.3 C.11.2.1.2.1: width >= 1 for LINEAR
        return self.with_window(Window(float(center), width, function, "USER"))

    @property
    def voi_label(self) -> str:
        """The VOI transform as the user picks it: the explanation, or what kind it is."""
        if self.window is not None:
            return self.window.explanation or "window"
        if self.voi_lut is not None:
            suffix = " (adjusted)" if self.voi_lut_window is not None else ""
            return f"VOI LUT {self.voi_lut.explanation}".rstrip() + suffix
        return "full range"

    def modality_range(self) -> tuple[float, float]:
        """The range of modality values the stored range can produce."""
        if self.modality_lut is not None:
            data = self.modality_lut.data
            return float(data.min()), float(data.max())
        low = -(1 << (self.bits_stored - 1)) if self.signed else 0
        high = (1 << (self.bits_stored - 1)) - 1 if self.signed else (1 << self.bits_stored) - 1
        ends = (low * self.rescale_slope + self.rescale_intercept,
                high * self.rescale_slope + self.rescale_intercept)
        return min(ends), max(ends)


def lut_equivalent_window(lut: LookupTable) -> tuple[float, float]:
    """Centre and width of a VOI LUT's input range, in the LINEAR window's terms."""
    first, last = lut.input_range
    width = float(last - first + 1)
    return first + width / 2.0, width


@dataclass(frozen=True)
class VOIChoices:
    """The VOI transforms a frame offers: its windows, then its VOI LUTs (PS3.3 C.11.2)."""

    windows: tuple[Window, ...]
    voi_luts: tuple[LookupTable, ...]


def voi_choices(attributes: Dataset, function: VOIFunction | None = None) -> VOIChoices:
    """Read the windows and VOI LUTs of one frame's attributes (see :func:`frame_attributes`).

    ``function`` overrides the file's VOI LUT Function for every window.
    """
    if function is None:
        function = VOIFunction.parse(attributes.get("VOILUTFunction"))
    # PS3.3 C.11.2.1.1: the VOI LUT's input is the Modality LUT output, so its first mapped
    # value is signed when that output can be negative (a CT's Rescale Intercept -1024).
    signed_input = base_pipeline(attributes).modality_range()[0] < 0
    return VOIChoices(tuple(_windows(attributes, function)), tuple(_voi_luts(attributes, signed_input)))


def _windows(attributes: Dataset, function: VOIFunction) -> list[Window]:
    centers = _floats(attributes.get("WindowCenter"))
    widths = _floats(attributes.get("WindowWidth"))
    explanations = [str(e).strip() for e in _values(attributes.get("WindowCenterWidthExplanation"))]
    if len(centers) != len(widths):
        logger.warning("Window Center has %d values but Window Width %d; using the first %d pairs",
                       len(centers), len(widths), min(len(centers), len(widths)))
    windows = []
    for index, (center, width) in enumerate(zip(centers, widths, strict=False)):
        # PS3.3 C.11.2.1.2: width >= 1 for LINEAR, > 0 for LINEAR_EXACT and SIGMOID.
        minimum_ok = width >= 1.0 if function is VOIFunction.LINEAR else width > 0.0
        if not minimum_ok:
            logger.warning("Ignored window %d: width %s is invalid for %s", index + 1, width, function.value)
            continue
        explanation = explanations[index] if index < len(explanations) else ""
        windows.append(Window(center, width, function, explanation or f"WINDOW {index + 1}"))
    return windows


def _voi_luts(attributes: Dataset, signed_input: bool) -> list[LookupTable]:
    tables = []
    for number, item in enumerate(attributes.get("VOILUTSequence") or [], start=1):
        try:
            table = lut_from_item(item, signed_input=signed_input, kind=f"VOI LUT {number}")
        except LUTError as error:
            logger.warning("Ignored %s", error)
            continue
        if not table.explanation:
            table = dataclasses.replace(table, explanation=f"LUT {number}")
        tables.append(table)
    return tables


def modality_lut_of(attributes: Dataset) -> LookupTable | None:
    """The Modality LUT Sequence's table (PS3.3 C.11.1), or None to use Rescale Slope/Intercept."""
    items = attributes.get("ModalityLUTSequence") or []
    if not items:
        return None
    signed = int(attributes.get("PixelRepresentation", 0) or 0) == 1
    try:
        return lut_from_item(items[0], signed_input=signed, kind="Modality LUT")
    except LUTError as error:
        logger.warning("Ignored %s; using Rescale Slope/Intercept instead", error)
        return None


def pipeline_for(
    ds: Dataset,
    *,
    frame: int = 0,
    voi_index: int | None = None,
    voi_lut_index: int | None = None,
    function: VOIFunction | None = None,
) -> DisplayPipeline:
    """Build the default pipeline of a grayscale frame from its header.

    By default exactly one VOI transform applies (PS3.3 C.11.2.1): the first window when the
    frame has windows, else the first VOI LUT. ``voi_index`` picks a window and
    ``voi_lut_index`` a VOI LUT instead (both 0-based). When the frame has neither, the
    pipeline has no VOI and the caller sets an automatic window with :func:`automatic_window`.
    """
    attributes = frame_attributes(ds, frame)
    base = base_pipeline(attributes)
    choices = voi_choices(attributes, function)
    if voi_lut_index is not None:
        return base.with_voi_lut(_pick(choices.voi_luts, voi_lut_index, "VOI LUT"))
    if voi_index is not None:
        return base.with_window(_pick(choices.windows, voi_index, "window"))
    if choices.windows:
        return base.with_window(choices.windows[0])
    if choices.voi_luts:
        return base.with_voi_lut(choices.voi_luts[0])
    return base


def _pick(options: Sequence[_Choice], index: int, kind: str) -> _Choice:
    if not 0 <= index < len(options):
        raise IndexError(f"{kind} {index + 1} requested, the image has {len(options)}")
    return options[index]


def base_pipeline(attributes: Dataset) -> DisplayPipeline:
    """Modality transform, polarity and padding of a frame, without any VOI."""
    bits_stored = int(attributes.get("BitsStored", attributes.get("BitsAllocated", 16)) or 16)
    signed = int(attributes.get("PixelRepresentation", 0) or 0) == 1
    photometric = str(attributes.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    return DisplayPipeline(
        bits_stored=bits_stored,
        signed=signed,
        rescale_slope=float(attributes.get("RescaleSlope", 1.0) or 1.0),
        rescale_intercept=float(attributes.get("RescaleIntercept", 0.0) or 0.0),
        modality_lut=modality_lut_of(attributes),
        invert=is_inverted(photometric, attributes.get("PresentationLUTShape")),
        padding=padding_range(attributes, bits_stored, signed),
    )


def is_inverted(photometric: str, presentation_lut_shape: object) -> bool:
    """Whether the display inverts after the VOI, exactly once.

    PS3.3 C.11.6.1: INVERSE inverts; MONOCHROME1 means the minimum is white (PS3.3
    C.7.6.3.1.2). MONOCHROME1 with INVERSE, as the MG and DX IODs require, is one inversion
    and not two.
    """
    shape = str(presentation_lut_shape or "").strip().upper()
    return photometric.strip().upper() == "MONOCHROME1" or shape == "INVERSE"


def windows_of(ds: Dataset, function: VOIFunction) -> list[Window]:
    """The file's windows as presets, each with ``function``."""
    return list(voi_choices(ds, function).windows)


def padding_range(ds: Dataset, bits_stored: int, signed: bool) -> tuple[int, int] | None:
    """Pixel Padding Value (and Range Limit) as stored values, sign-corrected.

    PS3.3 C.7.5.1.1.2: both are compared with stored values, before the Modality LUT. Files
    write them as US or SS; a signed image whose padding was written as US (for example 63536
    for -2000) is read back in the image's own signedness.
    """
    value = ds.get("PixelPaddingValue")
    if value is None or value == "":
        return None
    limit = ds.get("PixelPaddingRangeLimit")
    first = _as_stored(int(value), bits_stored, signed)
    last = _as_stored(int(limit), bits_stored, signed) if limit not in (None, "") else first
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
    Without padding this is dcmtk's min-max window (``dcmj2pnm +Wm``), which keeps padding in.
    """
    values = _unpadded(pipeline, stored)
    minimum, maximum = _modality_extremes(pipeline, values)
    width = max(maximum - minimum + 1.0, 1.0)
    return Window(minimum + width / 2.0, width, function, "AUTO")


def percentile_window(
    pipeline: DisplayPipeline, stored: np.ndarray, low: float = 0.5, high: float = 99.5
) -> Window:
    """A LINEAR window from the ``low`` to the ``high`` percentile of the unpadded values.

    For Processing images keep the detector's raw range, where a few very bright or dark
    pixels (collimator edges, dead pixels) would squeeze the breast into a few grey levels
    under a min-max window; clipping the extreme 0.5 % on each side avoids that.
    """
    values = _unpadded(pipeline, stored)
    if values.size > 1_000_000:
        values = values.ravel()[:: values.size // 1_000_000]
    from mammo_workstation.pipeline.reference import apply_modality

    lower, upper = np.percentile(values, [low, high])
    ends = apply_modality(pipeline, np.array([np.floor(lower), np.ceil(upper)], dtype=np.int64))
    minimum, maximum = float(min(ends)), float(max(ends))
    width = max(maximum - minimum + 1.0, 1.0)
    return Window(minimum + width / 2.0, width, VOIFunction.LINEAR, "AUTO FOR PROCESSING")


def _unpadded(pipeline: DisplayPipeline, stored: np.ndarray) -> np.ndarray:
    values = stored
    if pipeline.padding is not None:
        low, high = pipeline.padding
        values = stored[(stored < low) | (stored > high)]
    return values if values.size else stored


def _modality_extremes(pipeline: DisplayPipeline, values: np.ndarray) -> tuple[float, float]:
    from mammo_workstation.pipeline.reference import apply_modality

    low, high = int(values.min()), int(values.max())
    ends = apply_modality(pipeline, np.array([low, high], dtype=np.int64))
    return float(min(ends)), float(max(ends))


def _values(value: object) -> list[object]:
    if value is None or value == "":
        return []
    if isinstance(value, str | bytes | int | float):
        return [value]
    return list(value)  # type: ignore[call-overload]


def _floats(value: object) -> list[float]:
    result = []
    for item in _values(value):
        try:
            result.append(float(item))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            logger.warning("Ignored a non-numeric window value %r", item)
    return result


__all__ = [
    "DisplayPipeline",
    "LookupTable",
    "VOIChoices",
    "VOIFunction",
    "Window",
    "automatic_window",
    "frame_attributes",
    "pipeline_for",
    "voi_choices",
]
