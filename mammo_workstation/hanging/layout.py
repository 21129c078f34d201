"""Layouts: which image goes in which viewport, and how it is oriented and justified.

A :class:`Layout` is plain data so that hanging protocols loaded from files can build it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from mammo_workstation.dicom.model import Instance, Laterality, PresentationIntent, Study
from mammo_workstation.pipeline.geometry import DisplayTransform, display_transform

CURRENT = "current"
PRIOR = "prior"


class Justify(StrEnum):
    """The viewport edge that the image touches horizontally."""

    LEFT = "left"
    RIGHT = "right"
    CENTER = "center"


@dataclass(frozen=True)
class ImageSelector:
    """Selects an image of a study by laterality and view (with modifiers), or by its UID.

    ``modifiers`` must equal the image's View Modifier Code Sequence abbreviations exactly, so
    a selector for ``RCC`` does not pick the spot-compression ``RCC S``. ``any_modifiers``
    drops that test. ``modality`` and ``series_description`` (a case-insensitive regular
    expression) narrow the choice for non-mammography images.
    """

    laterality: Laterality | None
    view: str | None
    modifiers: tuple[str, ...] = ()
    sop_instance_uid: str | None = None
    modality: str | None = None
    series_description: str | None = None
    any_modifiers: bool = False

    def matches(self, instance: Instance) -> bool:
        if self.sop_instance_uid is not None:
            return instance.sop_instance_uid == self.sop_instance_uid
        if self.modality is not None and instance.modality != self.modality:
            return False
        if self.series_description is not None and not re.search(
            self.series_description, instance.series_description, re.IGNORECASE
        ):
            return False
        if self.laterality is not None and instance.laterality is not self.laterality:
            return False
        if self.view is None:
            return True
        if instance.view is None or instance.view.view != self.view:
            return False
        return self.any_modifiers or instance.view.modifiers == self.modifiers


@dataclass(frozen=True)
class ViewportSpec:
    """One cell of a layout.

    ``study`` names the image set the selector searches: ``"current"`` or ``"prior"``.
    ``orientation`` is the Patient Orientation the image must show on screen (row direction,
    column direction); None shows mammograms by IHE MAMMO and other images as stored.
    ``mirror`` flips the image left-right after that orientation. Viewports with the same
    ``sync_group`` follow each other's pan, zoom or window, as the stage's sync groups define.
    ``stack`` shows every image and frame of the selected image's series, one at a time.
    """

    row: int
    column: int
    label: str
    selector: ImageSelector
    orientation: tuple[str, str] | None = None
    justify: Justify = Justify.CENTER
    study: str = CURRENT
    mirror: bool = False
    sync_group: str | None = None
    stack: bool = False


@dataclass(frozen=True)
class Layout:
    name: str
    rows: int
    columns: int
    viewports: tuple[ViewportSpec, ...]


@dataclass(frozen=True)
class Slice:
    """One frame (0-based) of an instance, as a step of a stack."""

    instance: Instance
    frame: int = 0


@dataclass(frozen=True)
class Placement:
    """The image chosen for a viewport (None when the study lacks it) and its display transform.

    ``slices`` contains the frames a stack viewport steps through, in display order. It is
    empty for a viewport that shows one image.
    """

    spec: ViewportSpec
    instance: Instance | None
    transform: DisplayTransform
    slices: tuple[Slice, ...] = ()


def mammography_orientation(laterality: Laterality, view: str) -> tuple[str, str]:
    """Return the on-screen Patient Orientation IHE MAMMO requires (row direction, column direction).

    Right images face right (chest wall at the right edge) and left images face left, so the
    two breasts meet back to back at the centre line. Cranio-caudal views show the lateral
    side up; the other views show the feet down.
    """
    row_direction = "P" if laterality is Laterality.RIGHT else "A"
    if view in ("CC", "XCCL", "XCCM", "FB"):
        return row_direction, "L" if laterality is Laterality.RIGHT else "R"
    return row_direction, "F"


def mammography_justify(laterality: Laterality | None) -> Justify:
    if laterality is Laterality.RIGHT:
        return Justify.RIGHT
    if laterality is Laterality.LEFT:
        return Justify.LEFT
    return Justify.CENTER


def _mammo_viewport(row: int, column: int, side: Laterality, view: str) -> ViewportSpec:
    return ViewportSpec(
        row,
        column,
        f"{side.value}{view}",
        ImageSelector(side, view),
        mammography_orientation(side, view),
        mammography_justify(side),
    )


SCREENING_4UP = Layout(
    "Screening 4-up",
    2,
    2,
    (
        _mammo_viewport(0, 0, Laterality.RIGHT, "CC"),
        _mammo_viewport(0, 1, Laterality.LEFT, "CC"),
        _mammo_viewport(1, 0, Laterality.RIGHT, "MLO"),
        _mammo_viewport(1, 1, Laterality.LEFT, "MLO"),
    ),
)


def _presentation_first(instance: Instance) -> int:
    # A For Processing image is raw detector data (PS3.3 C.8.11.1.1.1); show the processed one.
    return 1 if instance.presentation_intent is PresentationIntent.FOR_PROCESSING else 0


def place(
    layout: Layout,
    instances: Sequence[Instance],
    other_studies: Mapping[str, Sequence[Instance]] | None = None,
) -> list[Placement]:
    """Choose an image for each viewport; each image is used at most once.

    ``instances`` are the current study's images; ``other_studies`` maps another image-set
    name (``"prior"``) to its images. For Presentation images are preferred over For
    Processing ones of the same view.
    """
    sources = {CURRENT: list(instances), **{k: list(v) for k, v in (other_studies or {}).items()}}
    used: set[str] = set()
    placements = []
    for spec in layout.viewports:
        candidates = sorted(
            (i for i in sources.get(spec.study, []) if i.has_pixel_data and spec.selector.matches(i)),
            key=_presentation_first,
        )
        chosen = next((i for i in candidates if i.sop_instance_uid not in used), None)
        if chosen is None:
            placements.append(Placement(spec, None, DisplayTransform()))
            continue
        used.add(chosen.sop_instance_uid)
        slices = _stack_slices(chosen, sources.get(spec.study, [])) if spec.stack else ()
        placements.append(Placement(spec, chosen, transform_for(spec, chosen), slices))
    return placements


def transform_for(spec: ViewportSpec, instance: Instance) -> DisplayTransform:
    """Compute the rotation and flip that show ``instance`` as ``spec`` requests, mirror included."""
    target = spec.orientation
    if target is None and instance.modality == "MG" and instance.view is not None and instance.laterality in (
        Laterality.RIGHT,
        Laterality.LEFT,
    ):
        target = mammography_orientation(instance.laterality, instance.view.view)
    transform = DisplayTransform()
    if target is not None:
        transform = display_transform(instance.patient_orientation, target)
    if spec.mirror:
        transform = replace(transform, flip_horizontal=not transform.flip_horizontal)
    return transform


def _stack_slices(chosen: Instance, instances: Sequence[Instance]) -> tuple[Slice, ...]:
    # NOTE: slices are ordered by Instance Number, not by Image Position (Patient) along the
    # slice normal, because the header model does not read the position yet.
    series = [i for i in instances if i.series_instance_uid == chosen.series_instance_uid and i.has_pixel_data]
    series.sort(key=lambda i: (i.instance_number if i.instance_number is not None else 0, i.sop_instance_uid))
    return tuple(Slice(i, frame) for i in series for frame in range(max(1, i.number_of_frames)))


def choose_layout(study: Study) -> Layout:
    """Choose the built-in layout for a study: screening 4-up for mammography, else a grid of its images."""
    instances = [i for i in study.instances if i.has_pixel_data]
    if any(i.modality == "MG" for i in instances):
        return SCREENING_4UP
    return grid_layout(instances)


def grid_shape(count: int) -> tuple[int, int]:
    """Rows and columns of the smallest near-square grid holding ``count`` cells (at least 1)."""
    count = max(1, count)
    columns = 1
    while columns * columns < count:
        columns += 1
    return -(-count // columns), columns


def grid_layout(instances: list[Instance]) -> Layout:
    count = max(1, min(len(instances), 16))
    rows, columns = grid_shape(count)
    specs = tuple(
        ViewportSpec(
            index // columns,
            index % columns,
            instance.series_description or instance.modality,
            ImageSelector(None, None, sop_instance_uid=instance.sop_instance_uid),
        )
        for index, instance in enumerate(instances[:count])
    )
    return Layout("Grid", rows, columns, specs)
