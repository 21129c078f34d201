"""The attributes that apply to one frame of a multi-frame object (PS3.3 C.7.6.16).

Enhanced and tomosynthesis objects put Window Center/Width, VOI LUT Function, Rescale Slope
and Intercept and Pixel Spacing in functional group macros: the Shared Functional Groups
Sequence contains what applies to every frame, the Per-Frame Functional Groups Sequence what
applies to one frame, and a per-frame macro overrides the shared one.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

# The functional group macros whose attributes the display reads (PS3.3 C.7.6.16.2).
_MACROS = (
    "PixelMeasuresSequence",  # Pixel Spacing
    "FrameVOILUTSequence",  # Window Center/Width, explanation, VOI LUT Function
    "PixelValueTransformationSequence",  # Rescale Slope/Intercept/Type
)

_GROUPS = {"SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence", "PixelData"}


def frame_attributes(ds: Dataset, frame: int = 0) -> Dataset:
    """Return the top-level attributes of ``ds`` with the functional groups of ``frame`` laid over.

    ``frame`` is 0-based. For a single-frame object without functional groups this returns
    ``ds`` itself.
    """
    shared = _first_item(ds.get("SharedFunctionalGroupsSequence"))
    per_frame_groups = ds.get("PerFrameFunctionalGroupsSequence") or []
    per_frame = per_frame_groups[frame] if 0 <= frame < len(per_frame_groups) else None
    if shared is None and per_frame is None:
        return ds
    merged = Dataset()
    for element in ds:
        if element.keyword not in _GROUPS:
            merged.add(element)
    if hasattr(ds, "file_meta"):
        merged.file_meta = ds.file_meta
    for group in (shared, per_frame):
        if group is not None:
            _overlay(merged, group)
    return merged


def _overlay(target: Dataset, group: Dataset) -> None:
    for keyword in _MACROS:
        item = _first_item(group.get(keyword))
        if item is None:
            continue
        for element in item:
            target.add(element)
        if keyword == "FrameVOILUTSequence" and "VOILUTFunction" not in item:
            # A frame's own window comes with its own function; LINEAR when none is given.
            target.pop("VOILUTFunction", None)


def _first_item(sequence: object) -> Dataset | None:
    if not sequence:
        return None
    item = sequence[0]  # type: ignore[index]
    return item if isinstance(item, Dataset) else None
