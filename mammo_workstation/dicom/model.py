"""Patient / study / series / instance model built from DICOM headers.

The model contains header attributes only; pixel data is decoded on demand by
:mod:`mammo_workstation.dicom.decode`, so scanning a folder stays fast and small.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class Laterality(StrEnum):
    """Image Laterality (0020,0062) enumerated values, PS3.3 C.8.11.7."""

    RIGHT = "R"
    LEFT = "L"
    BOTH = "B"
    UNPAIRED = "U"


class PresentationIntent(StrEnum):
    """Presentation Intent Type (0008,0068), PS3.3 C.8.11.7."""

    FOR_PRESENTATION = "FOR PRESENTATION"
    FOR_PROCESSING = "FOR PROCESSING"


@dataclass(frozen=True)
class CodedView:
    """A mammography view: View Code Sequence item and its View Modifier Code Sequence.

    ``view`` is the ACR abbreviation (CC, MLO, ML, LM, XCCL, ...) resolved from the coded value
    or, when the file has no View Code Sequence, from View Position (0018,5101).
    ``modifiers`` contains the ACR modifier abbreviations (S for spot compression, M for
    magnification, ID for implant displaced, ...), PS3.16 CID 4015.
    """

    view: str
    modifiers: tuple[str, ...] = ()
    code_value: str | None = None
    coding_scheme: str | None = None


@dataclass(frozen=True)
class WindowPreset:
    """One Window Center / Window Width pair with its explanation, PS3.3 C.11.2.1.2."""

    center: float
    width: float
    explanation: str = ""


@dataclass
class Instance:
    """One DICOM composite instance found on disk."""

    path: Path
    sop_instance_uid: str
    sop_class_uid: str
    series_instance_uid: str
    study_instance_uid: str
    patient_id: str
    patient_name: str
    modality: str
    transfer_syntax_uid: str
    study_date: dt.date | None = None
    study_description: str = ""
    series_number: int | None = None
    series_description: str = ""
    instance_number: int | None = None
    rows: int = 0
    columns: int = 0
    number_of_frames: int = 1
    has_pixel_data: bool = False
    laterality: Laterality | None = None
    view: CodedView | None = None
    patient_orientation: tuple[str, str] | None = None
    presentation_intent: PresentationIntent | None = None
    windows: tuple[WindowPreset, ...] = ()

    @property
    def view_label(self) -> str:
        """ACR label such as ``RCC``, ``LMLO`` or ``RCC S`` (spot), ``?`` parts when unknown."""
        side = self.laterality.value if self.laterality in (Laterality.RIGHT, Laterality.LEFT) else ""
        if self.view is None:
            return side or "?"
        label = f"{side}{self.view.view}"
        if self.view.modifiers:
            label += " " + " ".join(self.view.modifiers)
        return label


@dataclass
class Series:
    series_instance_uid: str
    modality: str
    series_number: int | None = None
    description: str = ""
    instances: list[Instance] = field(default_factory=list)


@dataclass
class Study:
    study_instance_uid: str
    study_date: dt.date | None = None
    description: str = ""
    series: dict[str, Series] = field(default_factory=dict)

    @property
    def instances(self) -> list[Instance]:
        """All instances of the study, ordered by series number then instance number."""
        ordered = sorted(self.series.values(), key=lambda s: (s.series_number or 0))
        return [
            instance
            for series in ordered
            for instance in sorted(series.instances, key=lambda i: (i.instance_number or 0))
        ]


@dataclass
class Patient:
    patient_id: str
    patient_name: str
    studies: dict[str, Study] = field(default_factory=dict)

    def studies_newest_first(self) -> list[Study]:
        return sorted(
            self.studies.values(), key=lambda s: s.study_date or dt.date.min, reverse=True
        )


@dataclass(frozen=True)
class LoadProblem:
    """A file that was skipped or could not be read, with a reason a user can act on."""

    path: Path
    reason: str


@dataclass
class StudyCollection:
    """Everything found by one open operation: patients and the files that failed."""

    patients: dict[str, Patient] = field(default_factory=dict)
    problems: list[LoadProblem] = field(default_factory=list)

    def add(self, instance: Instance) -> None:
        patient = self.patients.setdefault(
            instance.patient_id, Patient(instance.patient_id, instance.patient_name)
        )
        study = patient.studies.setdefault(
            instance.study_instance_uid,
            Study(instance.study_instance_uid, instance.study_date, instance.study_description),
        )
        series = study.series.setdefault(
            instance.series_instance_uid,
            Series(
                instance.series_instance_uid,
                instance.modality,
                instance.series_number,
                instance.series_description,
            ),
        )
        if any(i.sop_instance_uid == instance.sop_instance_uid for i in series.instances):
            return  # The same instance reached through two paths (file and DICOMDIR).
        series.instances.append(instance)

    @property
    def studies(self) -> list[Study]:
        """All studies, newest first."""
        found = [s for p in self.patients.values() for s in p.studies.values()]
        return sorted(found, key=lambda s: s.study_date or dt.date.min, reverse=True)

    @property
    def instances(self) -> list[Instance]:
        return [i for s in self.studies for i in s.instances]

    def patient_of(self, study: Study) -> Patient:
        for patient in self.patients.values():
            if study.study_instance_uid in patient.studies:
                return patient
        raise KeyError(study.study_instance_uid)
