"""Import DICOM Hanging Protocol objects (PS3.3 A.38, module C.23.1 to C.23.4) as protocols.

What maps:

- Hanging Protocol Definition Sequence: Modality becomes a required modality rule (any of
  the items' modalities), Laterality a laterality rule.
- Image Sets Sequence: an image set whose Time Based Image Sets item has Relative Time 0 is
  the current study. An ABSTRACT_PRIOR set is the prior, chosen as the n-th prior by its
  Abstract Prior Value. Selectors on Modality narrow the viewports of that image set.
- Display Sets Sequence: each Display Set Presentation Group becomes a stage. Image boxes
  become grid cells from their Display Environment Spatial Position; STACK and TILED boxes
  show their series as a stack. Filter Operations on Image Laterality, View Position, View
  Code Sequence, Modality and Series Description become the viewport's image selector;
  Display Set Patient Orientation and Display Set Horizontal Justification carry over.

What does not map is listed in the protocol description: reformatting (MPR, 3D), sorting
operations other than the default order, screen definitions and selectors on attributes the
header model does not read.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from mammo_workstation.dicom.model import Laterality
from mammo_workstation.dicom.views import VIEW_CODES
from mammo_workstation.hanging.layout import CURRENT, PRIOR, ImageSelector, Justify, Layout, ViewportSpec
from mammo_workstation.hanging.protocol import (
    PriorPolicy,
    PriorSelection,
    Protocol,
    Rule,
    RuleKind,
    Stage,
)
from mammo_workstation.hanging.schema import Problem
from mammo_workstation.hanging.toml_format import ProtocolFileError

logger = logging.getLogger(__name__)

HANGING_PROTOCOL_STORAGE = "1.2.840.10008.5.1.4.38.1"

_MODALITY = 0x00080060
_LATERALITY = 0x00200060
_IMAGE_LATERALITY = 0x00200062
_VIEW_POSITION = 0x00185101
_VIEW_CODE_SEQUENCE = 0x00540220
_SERIES_DESCRIPTION = 0x0008103E
_VIEW_BY_CODE = {code: view for view, codes in VIEW_CODES.items() for code in codes}


@dataclass
class _ImageSet:
    study: str = CURRENT
    modalities: tuple[str, ...] = ()
    label: str = ""
    prior_number: int | None = None


@dataclass
class _Import:
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


def load_dicom_protocol(path: Path) -> Protocol:
    """Read a Hanging Protocol Storage file; raises ProtocolFileError when it cannot be used."""
    try:
        dataset = pydicom.dcmread(path)
    except (InvalidDicomError, OSError, ValueError) as error:
        raise ProtocolFileError(str(path), [Problem("", f"failed to read the DICOM file ({error})")]) from None
    sop_class = str(dataset.get("SOPClassUID", ""))
    if sop_class != HANGING_PROTOCOL_STORAGE:
        raise ProtocolFileError(str(path), [Problem(
            "SOPClassUID", f"is {sop_class or 'missing'}, expected Hanging Protocol Storage {HANGING_PROTOCOL_STORAGE}"
        )])
    try:
        return protocol_from_dataset(dataset, str(path))
    except (AttributeError, TypeError, ValueError, KeyError, IndexError) as error:
        raise ProtocolFileError(str(path), [Problem("", f"unexpected Hanging Protocol content ({error})")]) from None


def protocol_from_dataset(dataset: Dataset, source: str) -> Protocol:
    state = _Import()
    name = str(dataset.get("HangingProtocolName", "") or Path(source).stem)
    image_sets = _image_sets(dataset, state)
    rules = _definition_rules(dataset)
    priors = PriorPolicy()
    prior_numbers = [s.prior_number for s in image_sets.values() if s.prior_number is not None]
    if prior_numbers:
        priors = PriorPolicy(PriorSelection.NTH, max(1, prior_numbers[0]))
        rules += (Rule(RuleKind.STUDY_PRESENT, study=PRIOR, weight=1.0, where="Image Sets Sequence"),)
    stages = _stages(dataset, image_sets, state)
    description = str(dataset.get("HangingProtocolDescription", "") or "")
    if state.notes:
        description += " (imported from DICOM; not mapped: " + "; ".join(state.notes) + ")"
    if not stages:
        raise ProtocolFileError(source, [Problem("DisplaySetsSequence", "no display set could be mapped")])
    return Protocol(name, tuple(stages), rules, priors, description.strip(), 0, source)


def _definition_rules(dataset: Dataset) -> tuple[Rule, ...]:
    modalities: list[str] = []
    lateralities: list[str] = []
    for item in dataset.get("HangingProtocolDefinitionSequence") or []:
        modality = str(item.get("Modality", "") or "").strip()
        if modality and modality not in modalities:
            modalities.append(modality)
        laterality = str(item.get("Laterality", "") or "").strip()
        if laterality and laterality not in lateralities:
            lateralities.append(laterality)
    rules: list[Rule] = []
    if modalities:
        rules.append(Rule(RuleKind.MODALITY, tuple(modalities), weight=10.0, required=True,
                          where="Hanging Protocol Definition Sequence"))
    if lateralities:
        rules.append(Rule(RuleKind.LATERALITY, tuple(lateralities), weight=2.0,
                          where="Hanging Protocol Definition Sequence"))
    return tuple(rules)


def _image_sets(dataset: Dataset, state: _Import) -> dict[int, _ImageSet]:
    sets: dict[int, _ImageSet] = {}
    for item in dataset.get("ImageSetsSequence") or []:
        modalities = _selector_modalities(item.get("ImageSetSelectorSequence") or [], state)
        for timed in item.get("TimeBasedImageSetsSequence") or []:
            number = int(timed.get("ImageSetNumber", 0) or 0)
            image_set = _ImageSet(modalities=modalities, label=str(timed.get("ImageSetLabel", "") or ""))
            category = str(timed.get("ImageSetSelectorCategory", "") or "")
            if category == "ABSTRACT_PRIOR":
                values = _int_values(timed.get("AbstractPriorValue"))
                image_set.study = PRIOR
                image_set.prior_number = values[0] if values else 1
            elif category == "RELATIVE_TIME":
                times = _int_values(timed.get("RelativeTime"))
                if times and times[0] > 0:
                    image_set.study = PRIOR
                    image_set.prior_number = 1
                    state.note("relative-time priors are taken as the most recent prior")
            sets[number] = image_set
    return sets


def _selector_modalities(selectors: Any, state: _Import) -> tuple[str, ...]:
    found: list[str] = []
    for selector in selectors:
        attribute = int(selector.get("SelectorAttribute", 0) or 0)
        values = _selector_values(selector)
        if attribute == _MODALITY:
            found += values
        else:
            state.note(f"image set selector on ({attribute >> 16:04X},{attribute & 0xFFFF:04X})")
    return tuple(found)


def _stages(dataset: Dataset, image_sets: dict[int, _ImageSet], state: _Import) -> list[Stage]:
    groups: dict[int, list[Dataset]] = {}
    for item in dataset.get("DisplaySetsSequence") or []:
        groups.setdefault(int(item.get("DisplaySetPresentationGroup", 1) or 1), []).append(item)
    stages = []
    for number in sorted(groups):
        stage = _stage(number, groups[number], image_sets, state)
        if stage is not None:
            stages.append(stage)
    return stages


def _stage(number: int, display_sets: list[Dataset], image_sets: dict[int, _ImageSet],
           state: _Import) -> Stage | None:
    boxes = []
    for display_set in display_sets:
        for box in display_set.get("ImageBoxesSequence") or []:
            position = [float(v) for v in _values(box.get("DisplayEnvironmentSpatialPosition"))]
            if len(position) == 4:
                boxes.append((display_set, box, position))
    if not boxes:
        return None
    # Display Environment Spatial Position: left x, top y, right x, bottom y, origin lower left.
    lefts = sorted({round(p[0], 3) for _, _, p in boxes})
    tops = sorted({round(p[1], 3) for _, _, p in boxes}, reverse=True)
    viewports: list[ViewportSpec] = []
    used: set[tuple[int, int]] = set()
    for display_set, box, position in boxes:
        cell = (tops.index(round(position[1], 3)), lefts.index(round(position[0], 3)))
        if cell in used:
            state.note("overlapping image boxes")
            continue
        used.add(cell)
        viewports.append(_viewport(cell, display_set, box, image_sets, state))
    description = next((str(d.get("DisplaySetPresentationGroupDescription", "")) for d in display_sets
                        if d.get("DisplaySetPresentationGroupDescription")), "")
    name = description or f"Presentation group {number}"
    if len(lefts) > 1 or len(tops) > 1:
        state.note("image boxes spanning several grid cells are shown in one cell")
    return Stage(name, Layout(name, len(tops), len(lefts), tuple(viewports)))


def _viewport(cell: tuple[int, int], display_set: Dataset, box: Dataset, image_sets: dict[int, _ImageSet],
              state: _Import) -> ViewportSpec:
    image_set = image_sets.get(int(display_set.get("ImageSetNumber", 0) or 0), _ImageSet())
    selection: dict[str, Any] = {"modality": image_set.modalities[0] if len(image_set.modalities) == 1 else None}
    for operation in display_set.get("FilterOperationsSequence") or []:
        _apply_filter(operation, selection, state)
    if display_set.get("ReformattingOperationType"):
        state.note(f"reformatting {display_set.ReformattingOperationType}")
    layout_type = str(box.get("ImageBoxLayoutType", "") or "")
    side = selection.get("laterality")
    selector = ImageSelector(
        Laterality(side) if side in ("R", "L", "B", "U") else None,
        selection.get("view"),
        modality=selection.get("modality"),
        series_description=selection.get("series_description"),
        any_modifiers=True,
    )
    orientation = tuple(str(v) for v in _values(display_set.get("DisplaySetPatientOrientation")))
    justify = str(display_set.get("DisplaySetHorizontalJustification", "") or "").lower()
    label = image_set.label or f"display set {display_set.get('DisplaySetNumber', '')}".strip()
    return ViewportSpec(
        cell[0], cell[1], label, selector,
        orientation if len(orientation) == 2 and all(re.fullmatch("[APRLHF]+", o) for o in orientation)
        else None,
        Justify(justify) if justify in ("left", "right", "center") else Justify.CENTER,
        image_set.study,
        stack=layout_type in ("STACK", "TILED"),
    )


def _apply_filter(operation: Dataset, selection: dict[str, Any], state: _Import) -> None:
    attribute = int(operation.get("SelectorAttribute", 0) or 0)
    operator = str(operation.get("FilterByOperator", "") or "")
    values = _selector_values(operation)
    category = str(operation.get("FilterByCategory", "") or "")
    if category:
        state.note(f"filter by category {category}")
        return
    if operator != "MEMBER_OF" or not values:
        state.note(f"filter operator {operator or '(none)'}")
        return
    if attribute in (_LATERALITY, _IMAGE_LATERALITY):
        selection["laterality"] = values[0]
    elif attribute == _VIEW_POSITION:
        selection["view"] = values[0] if values[0] in VIEW_CODES else None
    elif attribute == _VIEW_CODE_SEQUENCE:
        selection["view"] = _VIEW_BY_CODE.get(values[0])
    elif attribute == _MODALITY:
        selection["modality"] = values[0]
    elif attribute == _SERIES_DESCRIPTION:
        selection["series_description"] = re.escape(values[0])
    else:
        state.note(f"filter on ({attribute >> 16:04X},{attribute & 0xFFFF:04X})")


def _selector_values(item: Dataset) -> list[str]:
    """Return the values of a selector or filter from whichever Selector * Value attribute has them."""
    for keyword in ("SelectorCSValue", "SelectorLOValue", "SelectorSHValue", "SelectorLTValue",
                    "SelectorSTValue", "SelectorUTValue", "SelectorPNValue"):
        if keyword in item:
            return [str(v).strip() for v in _values(item.get(keyword)) if str(v).strip()]
    for code in item.get("SelectorCodeSequenceValue") or []:
        return [str(code.get("CodeValue", "")).strip()]
    return []


def _values(value: object) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, str | bytes | int | float):
        return [value]
    try:
        return list(value)  # type: ignore[call-overload]
    except TypeError:
        return [value]


def _int_values(value: object) -> list[int]:
    return [int(v) for v in _values(value)]
