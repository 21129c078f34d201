"""The local DICOM cache: files under the cache folder and their SQLite index.

Instances arrive in batches (one retrieve, one import). Each file is first written under
``incoming/`` with a temporary name and renamed when complete; :meth:`Batch.commit` then
moves the batch's files into ``dicom/`` and inserts their rows in one transaction. A batch
that is discarded, or whose process dies, leaves no file and no row behind in ``dicom/``, so a
study is never half-indexed. Instances whose SOP Instance UID is already cached are skipped.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from pydicom.dataset import Dataset

from mammo_workstation.cache.index import CacheIndex, InstanceRecord, StudyFilter, StudyRow
from mammo_workstation.dicom.loader import laterality_of
from mammo_workstation.dicom.views import coded_view

logger = logging.getLogger(__name__)

INDEX_FILE_NAME = "index.sqlite3"
_UID_PATTERN = re.compile(r"^[0-9]+(\.[0-9]+)*$")


def safe_uid_name(uid: str) -> str:
    """Return a file name for a UID that keeps a malformed UID from a peer inside the cache."""
    if _UID_PATTERN.match(uid) and len(uid) <= 64:
        return uid
    return "x" + uuid.uuid5(uuid.NAMESPACE_OID, uid).hex


def record_from_dataset(ds: Dataset, relative_path: str, size_bytes: int,
                        transfer_syntax_uid: str) -> InstanceRecord:
    """Build the index record of one instance from its header."""
    view = coded_view(ds)
    laterality = laterality_of(ds)
    return InstanceRecord(
        sop_instance_uid=str(ds.SOPInstanceUID),
        sop_class_uid=str(ds.get("SOPClassUID", "")),
        transfer_syntax_uid=transfer_syntax_uid,
        study_uid=str(ds.get("StudyInstanceUID", "")),
        series_uid=str(ds.get("SeriesInstanceUID", "")),
        patient_id=str(ds.get("PatientID", "") or ""),
        issuer_of_patient_id=str(ds.get("IssuerOfPatientID", "") or ""),
        patient_name=str(ds.get("PatientName", "") or ""),
        birth_date=str(ds.get("PatientBirthDate", "") or ""),
        sex=str(ds.get("PatientSex", "") or ""),
        study_date=str(ds.get("StudyDate", "") or ""),
        study_time=str(ds.get("StudyTime", "") or ""),
        accession_number=str(ds.get("AccessionNumber", "") or ""),
        study_id=str(ds.get("StudyID", "") or ""),
        study_description=str(ds.get("StudyDescription", "") or ""),
        referring_physician=str(ds.get("ReferringPhysicianName", "") or ""),
        modality=str(ds.get("Modality", "") or ""),
        series_number=_int_or_none(ds.get("SeriesNumber")),
        series_description=str(ds.get("SeriesDescription", "") or ""),
        body_part=str(ds.get("BodyPartExamined", "") or ""),
        instance_number=_int_or_none(ds.get("InstanceNumber")),
        rows=int(ds.get("Rows", 0) or 0),
        columns=int(ds.get("Columns", 0) or 0),
        number_of_frames=_int_or_none(ds.get("NumberOfFrames")) or 1,
        laterality=laterality.value if laterality else "",
        view=view.view if view else "",
        presentation_intent=str(ds.get("PresentationIntentType", "") or ""),
        relative_path=relative_path,
        size_bytes=size_bytes,
    )


class MissingAttributeError(ValueError):
    """Raised when an instance lacks a UID that the cache needs to file it."""


def check_uids(ds: Dataset) -> None:
    for keyword in ("SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID"):
        if not str(ds.get(keyword, "") or "").strip():
            raise MissingAttributeError(f"missing {keyword}; the instance cannot be cached")


@dataclass
class _StagedInstance:
    staged_path: Path
    record: InstanceRecord


@dataclass
class CommitResult:
    """Counts of one :meth:`Batch.commit`."""

    added: int = 0
    skipped_duplicates: int = 0
    bytes_added: int = 0
    study_uids: set[str] = field(default_factory=set)


class Batch:
    """Instances of one retrieve or import, invisible in the cache until :meth:`commit`."""

    def __init__(self, store: CacheStore, source_ae_title: str = "") -> None:
        self._store = store
        self.source_ae_title = source_ae_title
        self.folder = store.root / "incoming" / f"{os.getpid()}-{uuid.uuid4().hex}"
        self.folder.mkdir(parents=True)
        self._staged: dict[str, _StagedInstance] = {}
        self._lock = threading.Lock()
        self.closed = False

    def __len__(self) -> int:
        return len(self._staged)

    @property
    def size_bytes(self) -> int:
        return sum(item.record.size_bytes for item in self._staged.values())

    def add_encoded(self, ds: Dataset, encoded: bytes, transfer_syntax_uid: str) -> bool:
        """Stage one instance given as a DICOM file image (preamble, meta, data set).

        Returns False when the instance is already cached or staged (a duplicate).
        """
        check_uids(ds)
        sop_uid = str(ds.SOPInstanceUID)
        if self._is_duplicate(sop_uid):
            return False
        final_name = safe_uid_name(sop_uid) + ".dcm"
        temporary = self.folder / (final_name + ".part")
        # NOTE: no fsync, to keep retrieves fast. After a power cut (not a process crash) an
        # indexed file may be truncated; nothing checks yet against the size the index stores.
        with open(temporary, "wb") as stream:
            stream.write(encoded)
        staged = self.folder / final_name
        os.replace(temporary, staged)
        self._remember(ds, staged, len(encoded), transfer_syntax_uid)
        return True

    def add_file(self, source: Path, ds: Dataset, transfer_syntax_uid: str) -> bool:
        """Stage a copy of an existing DICOM file; False for a duplicate."""
        check_uids(ds)
        sop_uid = str(ds.SOPInstanceUID)
        if self._is_duplicate(sop_uid):
            return False
        final_name = safe_uid_name(sop_uid) + ".dcm"
        temporary = self.folder / (final_name + ".part")
        shutil.copyfile(source, temporary)
        staged = self.folder / final_name
        os.replace(temporary, staged)
        self._remember(ds, staged, staged.stat().st_size, transfer_syntax_uid)
        return True

    def _is_duplicate(self, sop_uid: str) -> bool:
        with self._lock:
            if sop_uid in self._staged:
                return True
        return self._store.index.has_instance(sop_uid)

    def _remember(self, ds: Dataset, staged: Path, size: int, transfer_syntax_uid: str) -> None:
        relative = Path("dicom") / safe_uid_name(str(ds.StudyInstanceUID)) / staged.name
        record = record_from_dataset(ds, relative.as_posix(), size, transfer_syntax_uid)
        with self._lock:
            self._staged[record.sop_instance_uid] = _StagedInstance(staged, record)

    def commit(self, expected_instances: dict[str, int] | None = None) -> CommitResult:
        """Move the staged files into the cache and index them in one transaction.

        ``expected_instances`` maps Study Instance UID to the number of instances the PACS
        reported, so the browser can show a study that the PACS only partly delivered.
        """
        with self._lock:
            staged = list(self._staged.values())
            self._staged.clear()
        result = CommitResult()
        existing = self._store.index.existing_instances(i.record.sop_instance_uid for i in staged)
        new = [item for item in staged if item.record.sop_instance_uid not in existing]
        result.skipped_duplicates = len(staged) - len(new)
        moved: list[Path] = []
        try:
            for item in new:
                target = self._store.root / item.record.relative_path
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(item.staged_path, target)
                moved.append(target)
            with self._store.index.connect() as connection:
                CacheIndex.insert(connection, (i.record for i in new), self.source_ae_title)
                for study_uid, expected in (expected_instances or {}).items():
                    CacheIndex.set_expected_instances(connection, study_uid, expected)
        except BaseException:
            for path in moved:
                path.unlink(missing_ok=True)
            raise
        finally:
            self.discard()
        result.added = len(new)
        result.bytes_added = sum(item.record.size_bytes for item in new)
        result.study_uids = {item.record.study_uid for item in staged}
        self._store.enforce_quota()
        return result

    def discard(self) -> None:
        """Delete everything staged and not committed."""
        with self._lock:
            self._staged.clear()
            self.closed = True
        shutil.rmtree(self.folder, ignore_errors=True)


class CacheStore:
    """A cache folder: ``dicom/`` files, ``incoming/`` batches and ``index.sqlite3``."""

    def __init__(self, root: Path, quota_bytes: int = 0) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.quota_bytes = quota_bytes
        self.index = CacheIndex(self.root / INDEX_FILE_NAME)
        self._open_studies: dict[str, int] = {}
        self._lock = threading.Lock()
        self._remove_abandoned_batches()

    def begin_batch(self, source_ae_title: str = "") -> Batch:
        return Batch(self, source_ae_title)

    def studies(self, study_filter: StudyFilter | None = None) -> list[StudyRow]:
        return self.index.studies(study_filter)

    def study_paths(self, study_uid: str) -> list[Path]:
        """Absolute paths of a study's files; records the access for eviction."""
        self.index.touch(study_uid)
        return [self.root / relative for relative in self.index.instance_paths(study_uid)]

    def mark_open(self, study_uid: str) -> None:
        """Protect a study from eviction while the reading window shows it."""
        with self._lock:
            self._open_studies[study_uid] = self._open_studies.get(study_uid, 0) + 1

    def mark_closed(self, study_uid: str) -> None:
        with self._lock:
            count = self._open_studies.get(study_uid, 0) - 1
            if count > 0:
                self._open_studies[study_uid] = count
            else:
                self._open_studies.pop(study_uid, None)

    def is_open(self, study_uid: str) -> bool:
        with self._lock:
            return study_uid in self._open_studies

    def delete_study(self, study_uid: str) -> None:
        with self.index.connect() as connection:
            paths = CacheIndex.delete_study(connection, study_uid)
        for relative in paths:
            (self.root / relative).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            (self.root / "dicom" / safe_uid_name(study_uid)).rmdir()

    def enforce_quota(self) -> list[str]:
        """Evict least recently used studies until the cache fits its quota.

        Pinned studies and studies open in the reading window are never evicted, so the
        cache may stay above its quota. Returns the evicted Study Instance UIDs.
        """
        if self.quota_bytes <= 0:
            return []
        sizes = self.index.study_sizes()
        total = sum(size for _, size, _, _ in sizes)
        evicted: list[str] = []
        for study_uid, size, _, pinned in sizes:
            if total <= self.quota_bytes:
                break
            if pinned or self.is_open(study_uid):
                continue
            self.delete_study(study_uid)
            total -= size
            evicted.append(study_uid)
        if evicted:
            logger.info("Evicted %d studies to keep the cache under %d MB",
                        len(evicted), self.quota_bytes // 1_000_000)
        if total > self.quota_bytes:
            logger.warning("Cache contains %d MB, above its quota of %d MB: the rest is pinned "
                           "or open", total // 1_000_000, self.quota_bytes // 1_000_000)
        return evicted

    def _remove_abandoned_batches(self) -> None:
        """Delete ``incoming/`` folders left by processes that died before committing."""
        incoming = self.root / "incoming"
        if not incoming.is_dir():
            return
        for folder in incoming.iterdir():
            pid_text = folder.name.split("-", 1)[0]
            if pid_text.isdigit() and _process_alive(int(pid_text)):
                continue
            shutil.rmtree(folder, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value)) if value not in (None, "") else None
    except ValueError:
        return None
