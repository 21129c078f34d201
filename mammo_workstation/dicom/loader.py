"""Find DICOM instances in files, folders and DICOMDIRs and read their headers.

Reading never raises for one bad file: the file is reported as a :class:`LoadProblem` with the
reason, and the scan goes on.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.filereader import read_partial
from pydicom.tag import BaseTag

from mammo_workstation.dicom.model import (
    Instance,
    Laterality,
    LoadProblem,
    PresentationIntent,
    StudyCollection,
    WindowPreset,
)
from mammo_workstation.dicom.views import coded_view

logger = logging.getLogger(__name__)

_SKIPPED_NAMES = {"DICOMDIR", "LOCKFILE", "VERSION"}
# Pixel Data, Float Pixel Data, Double Float Pixel Data.
_PIXEL_DATA_TAGS = {0x7FE00010, 0x7FE00008, 0x7FE00009}


def load_paths(paths: Iterable[str | os.PathLike[str]]) -> StudyCollection:
    """Read the headers of every DICOM file under ``paths`` into a :class:`StudyCollection`.

    A path may be a file, a folder (searched recursively) or a DICOMDIR.
    """
    collection = StudyCollection()
    for path in _expand(paths, collection):
        try:
            instance = read_instance(path)
        except InstanceError as error:
            collection.problems.append(LoadProblem(path, str(error)))
            logger.warning("Skipped %s: %s", path, error)
            continue
        collection.add(instance)
    return collection


class InstanceError(Exception):
    """A file that is not a readable DICOM composite instance."""


def read_instance(path: Path) -> Instance:
    """Read one file's header; raise :class:`InstanceError` with a plain reason on failure."""
    pixel_tags_seen: list[int] = []

    def stop_at_pixel_data(tag: BaseTag, vr: str | None, length: int) -> bool:
        if tag in _PIXEL_DATA_TAGS:
            pixel_tags_seen.append(tag)
            return True
        return False

    try:
        with open(path, "rb") as stream:
            ds = read_partial(stream, stop_when=stop_at_pixel_data)
    except InvalidDicomError:
        raise InstanceError(
            "not a DICOM file (no DICM preamble and no valid data set); "
            "check that it was copied completely"
        ) from None
    except (OSError, ValueError, EOFError, KeyError, TypeError, IndexError) as error:
        raise InstanceError(f"unreadable DICOM header ({error}); the file may be truncated") from None
    if "SOPInstanceUID" not in ds:
        raise InstanceError(
            "no SOP Instance UID (0008,0018) in the data set; the file is truncated "
            "or not a composite instance"
        )
    return instance_from_dataset(ds, path, has_pixel_data=bool(pixel_tags_seen))


def instance_from_dataset(ds: Dataset, path: Path, *, has_pixel_data: bool) -> Instance:
    """Build an :class:`Instance` from a header read without its pixel data."""
    meta = getattr(ds, "file_meta", None)
    transfer_syntax = str(getattr(meta, "TransferSyntaxUID", "") or "1.2.840.10008.1.2")
    sop_class = str(ds.get("SOPClassUID", "") or getattr(meta, "MediaStorageSOPClassUID", ""))
    study_uid = str(ds.get("StudyInstanceUID", "") or "unknown-study")
    sop_instance_uid = str(ds.get("SOPInstanceUID", "") or "").strip() or _meta_uid(ds)
    if not sop_instance_uid:
        # Some converters leave the UID empty; the file path then identifies the instance.
        sop_instance_uid = f"file:{path.resolve()}"
        logger.warning("%s has an empty SOP Instance UID; identified by its path", path.name)
    return Instance(
        path=path,
        sop_instance_uid=sop_instance_uid,
        sop_class_uid=sop_class,
        series_instance_uid=str(ds.get("SeriesInstanceUID", "") or f"{study_uid}.unknown-series"),
        study_instance_uid=study_uid,
        patient_id=str(ds.get("PatientID", "") or ""),
        patient_name=str(ds.get("PatientName", "") or ""),
        modality=str(ds.get("Modality", "") or "OT"),
        transfer_syntax_uid=transfer_syntax,
        study_date=parse_date(ds.get("StudyDate")),
        study_description=str(ds.get("StudyDescription", "") or ""),
        series_number=_int_or_none(ds.get("SeriesNumber")),
        series_description=str(ds.get("SeriesDescription", "") or ""),
        instance_number=_int_or_none(ds.get("InstanceNumber")),
        rows=int(ds.get("Rows", 0) or 0),
        columns=int(ds.get("Columns", 0) or 0),
        number_of_frames=_int_or_none(ds.get("NumberOfFrames")) or 1,
        has_pixel_data=has_pixel_data,
        laterality=laterality_of(ds),
        view=coded_view(ds),
        patient_orientation=patient_orientation_of(ds),
        presentation_intent=_presentation_intent(ds),
        windows=window_presets(ds),
    )


def _meta_uid(ds: Dataset) -> str:
    meta = getattr(ds, "file_meta", None)
    return str(getattr(meta, "MediaStorageSOPInstanceUID", "") or "").strip()


def laterality_of(ds: Dataset) -> Laterality | None:
    """Image Laterality (0020,0062), else the series-level Laterality (0020,0060)."""
    for keyword in ("ImageLaterality", "Laterality"):
        value = str(ds.get(keyword, "") or "").strip().upper()
        if value:
            try:
                return Laterality(value)
            except ValueError:
                logger.warning("Ignored invalid %s value %r", keyword, value)
    return None


def patient_orientation_of(ds: Dataset) -> tuple[str, str] | None:
    """Patient Orientation (0020,0020) as (row direction, column direction), if valid.

    Only the letters A P R L H F are valid (PS3.3 C.7.6.1.1.1); a value such as ``MLO`` that
    some converters write there is ignored.
    """
    value = ds.get("PatientOrientation")
    if value is None:
        return None
    parts = [str(part).strip().upper() for part in _as_list(value)]
    if len(parts) != 2 or not all(parts) or not all(set(p) <= set("APRLHF") for p in parts):
        return None
    return parts[0], parts[1]


def window_presets(ds: Dataset) -> tuple[WindowPreset, ...]:
    """Window Center / Width pairs with their explanations, PS3.3 C.11.2.1.2."""
    centers = _multi_float(ds.get("WindowCenter"))
    widths = _multi_float(ds.get("WindowWidth"))
    explanations = [str(e) for e in _as_list(ds.get("WindowCenterWidthExplanation"))]
    presets = []
    for index, (center, width) in enumerate(zip(centers, widths, strict=False)):
        if width < 1:
            logger.warning("Ignored window %d with invalid width %s (must be >= 1)", index + 1, width)
            continue
        explanation = explanations[index] if index < len(explanations) else ""
        presets.append(WindowPreset(center, width, explanation.strip()))
    return tuple(presets)


def parse_date(value: object) -> dt.date | None:
    text = str(value or "").strip()
    if len(text) < 8:
        return None
    try:
        return dt.datetime.strptime(text[:8], "%Y%m%d").date()
    except ValueError:
        return None


def _presentation_intent(ds: Dataset) -> PresentationIntent | None:
    value = str(ds.get("PresentationIntentType", "") or "").strip().upper()
    try:
        return PresentationIntent(value) if value else None
    except ValueError:
        return None


def _as_list(value: object) -> list[object]:
    """A DICOM value as a list: pydicom returns a MultiValue for VM > 1, a scalar otherwise."""
    if value is None or value == "":
        return []
    if isinstance(value, str | bytes | int | float):
        return [value]
    return list(value)  # type: ignore[call-overload]


def _multi_float(value: object) -> list[float]:
    result = []
    for item in _as_list(value):
        try:
            result.append(float(item))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
    return result


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


def _expand(paths: Iterable[str | os.PathLike[str]], collection: StudyCollection) -> Iterator[Path]:
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            collection.problems.append(LoadProblem(path, "not found; check the path"))
            continue
        candidates: Iterable[Path]
        if path.is_dir():
            candidates = _walk(path)
        elif path.name.upper() == "DICOMDIR":
            candidates = _dicomdir_files(path, collection)
        else:
            candidates = [path]
        for candidate in candidates:
            resolved = candidate.resolve()
            if resolved not in seen:
                seen.add(resolved)
                yield candidate


def _walk(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if name.startswith(".") or name.upper() in _SKIPPED_NAMES:
                continue
            yield Path(root) / name


def _dicomdir_files(path: Path, collection: StudyCollection) -> Iterator[Path]:
    """Files referenced by a DICOMDIR's directory records (PS3.10 Media Storage Directory)."""
    try:
        fileset = pydicom.dcmread(path)
    except Exception as error:  # noqa: BLE001 - any failure here is reported, not raised
        collection.problems.append(LoadProblem(path, f"unreadable DICOMDIR ({error})"))
        return
    for record in fileset.get("DirectoryRecordSequence") or []:
        file_id = record.get("ReferencedFileID")
        if not file_id:
            continue
        parts = [file_id] if isinstance(file_id, str) else list(file_id)
        yield path.parent.joinpath(*[str(p) for p in parts])
