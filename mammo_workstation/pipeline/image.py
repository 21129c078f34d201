"""One displayable frame: decoded stored values with the pipeline that shows them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from mammo_workstation.dicom.decode import DecodedFrame, decode_frame, read_dataset
from mammo_workstation.pipeline.frames import frame_attributes
from mammo_workstation.pipeline.grayscale import (
    DisplayPipeline,
    VOIFunction,
    Window,
    automatic_window,
    base_pipeline,
    percentile_window,
    voi_choices,
)


@dataclass
class DisplayImage:
    """A decoded frame, its default pipeline and the VOI presets a user can switch between.

    ``presets`` lists the file's windows, then its VOI LUTs, then the automatic window (for
    grayscale images), in that order; ``window_count`` and ``voi_lut_count`` say how many of
    each there are. ``pipeline`` is the default: the first window, else the first VOI LUT,
    else the automatic window (PS3.3 C.11.2.1).
    """

    path: Path
    dataset: Dataset
    frame: DecodedFrame
    pipeline: DisplayPipeline
    presets: list[DisplayPipeline]
    window_count: int = 0
    voi_lut_count: int = 0
    frame_index: int = 0
    attributes: Dataset = field(default_factory=Dataset)

    @property
    def pixels(self) -> np.ndarray:
        return self.frame.pixels

    @property
    def size(self) -> tuple[int, int]:
        """(columns, rows)."""
        return int(self.frame.pixels.shape[1]), int(self.frame.pixels.shape[0])

    @property
    def for_processing(self) -> bool:
        """Presentation Intent Type FOR PROCESSING (PS3.3 C.8.11.1.1.1): raw detector data."""
        return is_for_processing(self.dataset)

    @property
    def preset_labels(self) -> list[str]:
        return [preset.voi_label for preset in self.presets]


def is_for_processing(ds: Dataset) -> bool:
    intent = str(ds.get("PresentationIntentType", "") or "").strip().upper()
    if intent:
        return intent == "FOR PROCESSING"
    # Some files carry only the SOP Class: the For Processing classes of DX, MG and IO.
    return str(ds.get("SOPClassUID", "")) in _FOR_PROCESSING_CLASSES


# PS3.4 B.5: Digital X-Ray, Mammography and Intra-Oral X-Ray Image Storage - For Processing.
_FOR_PROCESSING_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.1.1.1",
    "1.2.840.10008.5.1.4.1.1.1.2.1",
    "1.2.840.10008.5.1.4.1.1.1.3.1",
}


def load_display_image(
    path: Path,
    frame: int = 0,
    voi_index: int | None = None,
    *,
    voi_lut_index: int | None = None,
    function: VOIFunction | None = None,
) -> DisplayImage:
    """Read, decode and set up the default display of one frame (0-based); raises DecodeError."""
    dataset = read_dataset(path)
    decoded = decode_frame(dataset, frame, name=path.name)
    return display_image_from(path, dataset, decoded, voi_index, frame=frame,
                              voi_lut_index=voi_lut_index, function=function)


def display_image_from(
    path: Path,
    dataset: Dataset,
    decoded: DecodedFrame,
    voi_index: int | None = None,
    *,
    frame: int = 0,
    voi_lut_index: int | None = None,
    function: VOIFunction | None = None,
) -> DisplayImage:
    """Set up the presets and default pipeline of a decoded frame.

    ``voi_index`` (a window) or ``voi_lut_index`` (a VOI LUT), both 0-based, replace the
    default; an index out of range raises IndexError naming the count. ``function`` overrides
    the file's VOI LUT Function.
    """
    attributes = frame_attributes(dataset, frame)
    base = base_pipeline(attributes)
    # The decoded frame has the true sign and depth (a JPEG 2000 codestream may differ from the header).
    base = dataclasses.replace(base, signed=decoded.signed, bits_stored=decoded.bits_stored)
    choices = voi_choices(attributes, function)
    presets = [base.with_window(window) for window in choices.windows]
    presets += [base.with_voi_lut(lut) for lut in choices.voi_luts]
    if not decoded.is_color:
        presets.append(base.with_window(_automatic(base, decoded.pixels, dataset, function)))
    pipeline = _default(presets, len(choices.windows), len(choices.voi_luts), voi_index, voi_lut_index)
    if pipeline is None:
        pipeline = base
    return DisplayImage(path, dataset, decoded, pipeline, presets, len(choices.windows),
                        len(choices.voi_luts), frame, attributes)


def _automatic(
    base: DisplayPipeline, stored: np.ndarray, dataset: Dataset, function: VOIFunction | None
) -> Window:
    if is_for_processing(dataset):
        return percentile_window(base, stored)
    return automatic_window(base, stored, function or VOIFunction.LINEAR)


def _default(
    presets: list[DisplayPipeline],
    windows: int,
    voi_luts: int,
    voi_index: int | None,
    voi_lut_index: int | None,
) -> DisplayPipeline | None:
    """PS3.3 C.11.2.1: one VOI transform; the first window, else the first VOI LUT, else auto."""
    if voi_lut_index is not None:
        if not 0 <= voi_lut_index < voi_luts:
            raise IndexError(f"VOI LUT {voi_lut_index + 1} requested, the image has {voi_luts}")
        return presets[windows + voi_lut_index]
    if voi_index is not None:
        if not 0 <= voi_index < windows:
            raise IndexError(f"window {voi_index + 1} requested, the image has {windows}")
        return presets[voi_index]
    return presets[0] if presets else None
