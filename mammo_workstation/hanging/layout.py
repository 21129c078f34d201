"""Layouts: which image goes in which viewport, and how it is oriented and justified.

A :class:`Layout` is plain data so that hanging protocols loaded from files can build it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mammo_workstation.dicom.model import Instance, Laterality, Study
from mammo_workstation.pipeline.geometry import DisplayTransform, display_transform


class Justify(StrEnum):
    """Which viewport edge the image touches horizontally."""

    LEFT = "left"
    RIGHT = "right"
    CENTER = "center"


@dataclass(frozen=True)
class ImageSelector:
    """Selects an image of a study by laterality and view (with modifiers), or by its UID."""

    laterality: Laterality | None
    view: str | None
    modifiers: tuple[str, ...] = ()
    sop_instance_uid: str | None = None

    def matches(self, instance: Instance) -> bool:
        if self.sop_instance_uid is not None:
            return instance.sop_instance_uid == self.sop_instance_uid
        if self.laterality is not None and instance.laterality is not self.laterality:
            return False
        if self.view is None:
            return True
        if instance.view is None:
            return False
        return instance.view.view == self.view and instance.view.modifiers == self.modifiers


@dataclass(frozen=True)
class ViewportSpec:
    """One cell of a layout."""

    row: int
    column: int
    label: str
    selector: ImageSelector
    # Patient Orientation the image must show on screen (row direction, column direction).
    orientation: tuple[str, str] | None = None
    justify: Justify = Justify.CENTER


@dataclass(frozen=True)
class Layout:
    name: str
    rows: int
    columns: int
    viewports: tuple[ViewportSpec, ...]


@dataclass(frozen=True)
class Placement:
    """The image chosen for a viewport (None when the study lacks it) and its display transform."""

    spec: ViewportSpec
    instance: Instance | None
    transform: DisplayTransform


def _mammo_viewport(row: int, column: int, side: Laterality, view: str) -> ViewportSpec:
    # IHE MAMMO: right images face right (chest wall at the right edge), left images face left,
    # so the two breasts meet back to back at the centre line.
    row_direction = "P" if side is Laterality.RIGHT else "A"
    column_direction = {"CC": "L" if side is Laterality.RIGHT else "R"}.get(view, "F")
    return ViewportSpec(
        row,
        column,
        f"{side.value}{view}",
        ImageSelector(side, view),
        (row_direction, column_direction),
        Justify.RIGHT if side is Laterality.RIGHT else Justify.LEFT,
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


def place(layout: Layout, instances: list[Instance]) -> list[Placement]:
    """Choose an image for each viewport; each image is used at most once."""
    used: set[str] = set()
    placements = []
    for spec in layout.viewports:
        chosen = next(
            (
                instance
                for instance in instances
                if instance.sop_instance_uid not in used
                and instance.has_pixel_data
                and spec.selector.matches(instance)
            ),
            None,
        )
        transform = DisplayTransform()
        if chosen is not None:
            used.add(chosen.sop_instance_uid)
            if spec.orientation is not None:
                transform = display_transform(chosen.patient_orientation, spec.orientation)
        placements.append(Placement(spec, chosen, transform))
    return placements


def choose_layout(study: Study) -> Layout:
    """The layout for a study: screening 4-up for mammography, else a grid of its images."""
    instances = [i for i in study.instances if i.has_pixel_data]
    if any(i.modality == "MG" for i in instances):
        return SCREENING_4UP
    return grid_layout(instances)


def grid_layout(instances: list[Instance]) -> Layout:
    count = max(1, min(len(instances), 16))
    columns = 1
    while columns * columns < count:
        columns += 1
    rows = -(-count // columns)
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
