"""Hanging protocols as data: match rules, prior selection and stages of layouts.

Files in the TOML format (:mod:`mammo_workstation.hanging.toml_format`) and DICOM Hanging
Protocol objects (:mod:`mammo_workstation.hanging.dicom_protocol`) both load into these
classes; :mod:`mammo_workstation.hanging.matching` scores them against a study.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from mammo_workstation.hanging.layout import CURRENT, Layout


class RuleKind(StrEnum):
    """The test a match rule applies. Image-level kinds test each displayable image of the study."""

    MODALITY = "modality"  # Modality (0008,0060) of an image is one of ``values``
    LATERALITY = "laterality"  # Image Laterality (0020,0062) is one of ``values``
    VIEW = "view"  # View Code Sequence abbreviation is one of ``values``, with ``modifiers``
    VIEW_MODIFIER = "view_modifier"  # the view has one of the modifiers in ``values`` (S, M, ID)
    PRESENTATION_INTENT = "presentation_intent"  # Presentation Intent Type (0008,0068)
    SERIES_DESCRIPTION = "series_description"  # regular expression on Series Description
    STUDY_DESCRIPTION = "study_description"  # regular expression on Study Description
    IMAGE_COUNT = "image_count"  # number of displayable images, ``minimum`` to ``maximum``
    LATERALITY_COUNT = "laterality_count"  # number of breasts (R, L) imaged
    STUDY_PRESENT = "study_present"  # the image set (usually ``prior``) was found


IMAGE_KINDS = frozenset(
    {RuleKind.MODALITY, RuleKind.LATERALITY, RuleKind.VIEW, RuleKind.VIEW_MODIFIER,
     RuleKind.PRESENTATION_INTENT, RuleKind.SERIES_DESCRIPTION}
)
COUNT_KINDS = frozenset({RuleKind.IMAGE_COUNT, RuleKind.LATERALITY_COUNT})


class RuleMode(StrEnum):
    """The way an image-level rule combines the results of its images."""

    ANY = "any"  # at least one image passes
    ALL = "all"  # every image passes (and there is at least one)
    NONE = "none"  # no image passes


@dataclass(frozen=True)
class Rule:
    """One match rule. A failed ``required`` rule rules the protocol out; others add ``weight``.

    ``where`` locates the rule in its source (a key path such as ``rules[2]``) so that an
    explanation can point the protocol author at it.
    """

    kind: RuleKind
    values: tuple[str, ...] = ()
    modifiers: tuple[str, ...] | None = None
    minimum: int | None = None
    maximum: int | None = None
    mode: RuleMode = RuleMode.ANY
    study: str = CURRENT
    weight: float = 1.0
    required: bool = False
    description: str = ""
    where: str = ""


class PriorSelection(StrEnum):
    """The policy that chooses the prior image set among the patient's older studies."""

    MOST_RECENT = "most_recent"  # the newest study dated before the current one
    NTH = "nth"  # the n-th study before the current one, newest first (1 = most recent)
    MONTHS_OLDER = "months_older"  # the newest study at least ``months`` older than the current


@dataclass(frozen=True)
class PriorPolicy:
    selection: PriorSelection = PriorSelection.MOST_RECENT
    n: int = 1
    months: int = 0


class SyncProperty(StrEnum):
    PAN = "pan"
    ZOOM = "zoom"
    WINDOW = "window"


class StageContent(StrEnum):
    """The source of a stage's viewports."""

    FIXED = "fixed"  # the viewports listed in the protocol
    EXTRA_IMAGES = "extra_images"  # one viewport per current image no fixed stage showed
    SERIES_GRID = "series_grid"  # one stack viewport per series of the current study


@dataclass(frozen=True)
class Stage:
    """One step of a protocol: a layout, or a rule to generate one, and its sync groups.

    ``same_size`` shows every image of the stage at the same millimetres per screen pixel.
    A generated stage (``content`` not FIXED) that finds no images is left out of the hanging,
    and so is an ``optional`` fixed stage in which no viewport found its image.
    """

    name: str
    layout: Layout
    content: StageContent = StageContent.FIXED
    sync_groups: dict[str, frozenset[SyncProperty]] = field(default_factory=dict)
    same_size: bool = False
    max_viewports: int = 16
    optional: bool = False


@dataclass(frozen=True)
class Protocol:
    """A named hanging protocol. ``source`` is the file it came from, for messages."""

    name: str
    stages: tuple[Stage, ...]
    rules: tuple[Rule, ...] = ()
    priors: PriorPolicy = PriorPolicy()
    description: str = ""
    priority: int = 0
    source: str = ""

    @property
    def uses_prior(self) -> bool:
        return any(v.study != CURRENT for s in self.stages for v in s.layout.viewports) or any(
            r.study != CURRENT for r in self.rules
        )
