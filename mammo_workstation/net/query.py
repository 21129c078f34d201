"""Study Root C-FIND at STUDY, SERIES and IMAGE level (PS3.4 C.6.2).

Replies are decoded with their Specific Character Set (0008,0005). A reply that omits it but
carries non-ASCII bytes is decoded as UTF-8 when the bytes are valid UTF-8, else as ISO 8859-1,
because PACS that leave the attribute out mostly send one of those two.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from pydicom.charset import convert_encodings
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

from mammo_workstation.net.association import CallingAE, make_ae, open_association, peer_of
from mammo_workstation.net.cancel import CancelToken
from mammo_workstation.net.contexts import STUDY_ROOT_FIND
from mammo_workstation.net.status import (
    PENDING,
    SUCCESS,
    DicomNetworkError,
    OperationCancelledError,
    status_message,
    timeout_message,
)
from mammo_workstation.settings import RemoteNode

logger = logging.getLogger(__name__)

_TEXT_VRS = {"PN", "LO", "SH", "ST", "LT", "UT", "UC"}
_DATE_RANGE = re.compile(r"^(\d{8})?-(\d{8})?$|^(\d{8})$")


@dataclass
class StudyQuery:
    """STUDY-level matching keys; empty values are universal matches (PS3.4 C.2.2.2.3).

    ``patient_name`` and ``patient_id`` accept the wildcards ``*`` and ``?``.
    ``modality`` matches Modalities in Study (0008,0061).
    """

    patient_name: str = ""
    patient_id: str = ""
    accession_number: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    modality: str = "MG"
    study_uid: str = ""


def parse_date_range(text: str) -> tuple[dt.date | None, dt.date | None]:
    """Parse ``YYYYMMDD``, ``FROM-TO``, ``FROM-`` or ``-TO`` (DICOM range matching)."""
    cleaned = text.strip().replace("/", "")
    match = _DATE_RANGE.match(cleaned)
    if not match or cleaned == "-":
        raise ValueError(
            f"invalid study date {text!r}: expected YYYYMMDD, YYYYMMDD-YYYYMMDD, "
            "YYYYMMDD- or -YYYYMMDD"
        )
    try:
        if match[3]:
            single = dt.datetime.strptime(match[3], "%Y%m%d").date()
            return single, single
        start = dt.datetime.strptime(match[1], "%Y%m%d").date() if match[1] else None
        end = dt.datetime.strptime(match[2], "%Y%m%d").date() if match[2] else None
    except ValueError as error:
        raise ValueError(f"invalid study date {text!r}: {error}") from None
    return start, end


@dataclass
class StudyResult:
    """One STUDY-level match."""

    study_uid: str
    patient_id: str = ""
    patient_name: str = ""
    birth_date: str = ""
    sex: str = ""
    study_date: str = ""
    study_time: str = ""
    accession_number: str = ""
    description: str = ""
    modalities: list[str] = field(default_factory=list)
    number_of_series: int | None = None
    number_of_instances: int | None = None
    issuer_of_patient_id: str = ""

    @property
    def date(self) -> dt.date | None:
        try:
            return dt.datetime.strptime(self.study_date[:8], "%Y%m%d").date()
        except ValueError:
            return None


@dataclass
class SeriesResult:
    """One SERIES-level match."""

    series_uid: str
    modality: str = ""
    series_number: int | None = None
    description: str = ""
    number_of_instances: int | None = None


@dataclass
class InstanceResult:
    """One IMAGE-level match."""

    sop_instance_uid: str
    sop_class_uid: str = ""
    instance_number: int | None = None
    rows: int | None = None
    columns: int | None = None


def study_identifier(query: StudyQuery) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    texts = [query.patient_name, query.patient_id, query.accession_number]
    if any(not text.isascii() for text in texts):
        ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = query.patient_name
    ds.PatientID = query.patient_id
    ds.IssuerOfPatientID = ""
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    ds.StudyInstanceUID = query.study_uid
    ds.StudyDate = _date_range_value(query.date_from, query.date_to)
    ds.StudyTime = ""
    ds.AccessionNumber = query.accession_number
    ds.StudyDescription = ""
    ds.ModalitiesInStudy = query.modality
    ds.NumberOfStudyRelatedSeries = ""
    ds.NumberOfStudyRelatedInstances = ""
    return ds


def _date_range_value(start: dt.date | None, end: dt.date | None) -> str:
    if start is None and end is None:
        return ""
    if start == end and start is not None:
        return start.strftime("%Y%m%d")
    first = start.strftime("%Y%m%d") if start else ""
    last = end.strftime("%Y%m%d") if end else ""
    return f"{first}-{last}"


def find_studies(node: RemoteNode, query: StudyQuery, calling: CallingAE,
                 cancel: CancelToken | None = None) -> list[StudyResult]:
    """Run a STUDY-level C-FIND and return the matches, newest first."""
    results = []
    for reply in _find(node, study_identifier(query), calling, cancel):
        result = _study_result(reply)
        if query.modality and result.modalities and query.modality not in result.modalities:
            # Some PACS ignore Modalities in Study as a matching key; filter here as well.
            continue
        results.append(result)
    results.sort(key=lambda r: (r.study_date, r.study_time), reverse=True)
    return results


def find_series(node: RemoteNode, study_uid: str, calling: CallingAE) -> list[SeriesResult]:
    """Run a SERIES-level C-FIND for one study, ordered by Series Number."""
    ds = Dataset()
    ds.QueryRetrieveLevel = "SERIES"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = ""
    ds.Modality = ""
    ds.SeriesNumber = ""
    ds.SeriesDescription = ""
    ds.NumberOfSeriesRelatedInstances = ""
    results = [
        SeriesResult(
            series_uid=_text(reply, "SeriesInstanceUID"),
            modality=_text(reply, "Modality"),
            series_number=_int(reply, "SeriesNumber"),
            description=_text(reply, "SeriesDescription"),
            number_of_instances=_int(reply, "NumberOfSeriesRelatedInstances"),
        )
        for reply in _find(node, ds, calling)
    ]
    results.sort(key=lambda r: (r.series_number is None, r.series_number or 0))
    return results


def find_instances(node: RemoteNode, study_uid: str, series_uid: str,
                   calling: CallingAE) -> list[InstanceResult]:
    """Run an IMAGE-level C-FIND for one series ("" for all series), by Instance Number."""
    ds = Dataset()
    ds.QueryRetrieveLevel = "IMAGE"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.SOPInstanceUID = ""
    ds.SOPClassUID = ""
    ds.InstanceNumber = ""
    ds.Rows = None
    ds.Columns = None
    results = [
        InstanceResult(
            sop_instance_uid=_text(reply, "SOPInstanceUID"),
            sop_class_uid=_text(reply, "SOPClassUID"),
            instance_number=_int(reply, "InstanceNumber"),
            rows=_int(reply, "Rows"),
            columns=_int(reply, "Columns"),
        )
        for reply in _find(node, ds, calling)
    ]
    results.sort(key=lambda r: (r.instance_number is None, r.instance_number or 0))
    return results


def _find(node: RemoteNode, identifier: Dataset, calling: CallingAE,
          cancel: CancelToken | None = None) -> Iterator[Dataset]:
    peer = peer_of(node)
    ae = make_ae(calling)
    ae.add_requested_context(STUDY_ROOT_FIND)
    level = identifier.QueryRetrieveLevel
    count = 0
    with open_association(ae, node, calling, "C-FIND") as assoc:
        responses = assoc.send_c_find(identifier, STUDY_ROOT_FIND)
        for status, reply in responses:
            code = getattr(status, "Status", None)
            if code is None:
                if assoc.is_aborted:
                    raise DicomNetworkError(
                        f"C-FIND stopped: {peer} aborted the association; retry the query.", peer)
                raise DicomNetworkError(timeout_message(peer, "C-FIND", calling.timeout_s), peer)
            if code in PENDING:
                if reply is not None:
                    count += 1
                    yield decode_reply(reply, peer_name=str(peer))
                if cancel is not None and cancel.cancelled:
                    assoc.send_c_cancel(1, None)
                    assoc.abort()
                    raise OperationCancelledError("C-FIND was cancelled.", peer)
                continue
            if code == SUCCESS:
                break
            raise DicomNetworkError(status_message(code, peer, "C-FIND"), peer, code)
    logger.info("C-FIND at %s level on %s: %d matches", level, peer, count)


def decode_reply(reply: Dataset, peer_name: str = "") -> Dataset:
    """Give a reply without Specific Character Set the character set its bytes fit."""
    if "SpecificCharacterSet" in reply:
        return reply
    raw_values = [
        element.value for element in _raw_elements(reply)
        if _vr_of(element) in _TEXT_VRS and isinstance(element.value, bytes)
    ]
    if all(value.isascii() for value in raw_values):
        return reply
    joined = b"".join(raw_values)
    try:
        joined.decode("utf-8")
        charset = "ISO_IR 192"
    except UnicodeDecodeError:
        charset = "ISO_IR 100"
    logger.debug("C-FIND reply from %s has non-ASCII text and no Specific Character Set; "
                 "decoding it as %s", peer_name, charset)
    reply.SpecificCharacterSet = charset
    # pydicom decodes raw elements with the character set found at read time, so reset it.
    is_implicit_vr, is_little_endian = reply.original_encoding
    reply.set_original_encoding(is_implicit_vr, is_little_endian, convert_encodings(charset))
    return reply


def _vr_of(element: RawDataElement) -> str:
    """Return the element's VR, from the data dictionary when the reply is implicit VR."""
    if element.VR:
        return str(element.VR)
    try:
        return str(dictionary_VR(element.tag))
    except KeyError:
        return ""


def _raw_elements(ds: Dataset) -> Iterator[RawDataElement]:
    for tag in list(ds.keys()):
        element = ds.get_item(tag)
        if isinstance(element, RawDataElement):
            yield element


def _study_result(reply: Dataset) -> StudyResult:
    modalities = reply.get("ModalitiesInStudy", "") or ""
    if isinstance(modalities, str):
        modalities_list = [m for m in modalities.split("\\") if m]
    else:
        modalities_list = [str(m) for m in modalities if m]
    return StudyResult(
        study_uid=_text(reply, "StudyInstanceUID"),
        patient_id=_text(reply, "PatientID"),
        patient_name=_text(reply, "PatientName"),
        birth_date=_text(reply, "PatientBirthDate"),
        sex=_text(reply, "PatientSex"),
        study_date=_text(reply, "StudyDate"),
        study_time=_text(reply, "StudyTime"),
        accession_number=_text(reply, "AccessionNumber"),
        description=_text(reply, "StudyDescription"),
        modalities=modalities_list,
        number_of_series=_int(reply, "NumberOfStudyRelatedSeries"),
        number_of_instances=_int(reply, "NumberOfStudyRelatedInstances"),
        issuer_of_patient_id=_text(reply, "IssuerOfPatientID"),
    )


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword, "")
    return str(value).strip() if value is not None else ""


def _int(ds: Dataset, keyword: str) -> int | None:
    try:
        return int(str(ds.get(keyword, "")).strip())
    except ValueError:
        return None
