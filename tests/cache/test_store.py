"""The local cache: import, duplicates, batches, filters and least-recently-used eviction."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pydicom
import pytest
from pydicom.fileset import FileSet

from mammo_workstation.cache import CacheStore, StudyFilter, import_paths
from mammo_workstation.cache.store import safe_uid_name
from tests.conftest import DATA_DIR

EXAMS = DATA_DIR / "exams"
CURRENT = EXAMS / "DEMO-0001" / "2025-11-12_screening"
PRIOR = EXAMS / "DEMO-0001" / "2023-10-30_screening"
BRAVO = EXAMS / "DEMO-0002" / "2025-11-13_screening"


@pytest.fixture(autouse=True)
def _need_exams() -> None:
    if not EXAMS.is_dir():
        pytest.skip(f"test exams not found at {EXAMS}")


def study_uid(folder: Path) -> str:
    return str(pydicom.dcmread(next(folder.glob("*.dcm")), stop_before_pixels=True)
               .StudyInstanceUID)


def folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.glob("*.dcm"))


def test_import_folder_indexes_exams(tmp_path):
    store = CacheStore(tmp_path / "cache")
    result = import_paths(store, [EXAMS])
    assert result.added == 12
    assert result.problems == []
    rows = store.studies()
    assert [row.study_date for row in rows] == ["20251113", "20251112", "20231030"]
    bravo = rows[0]
    assert bravo.patient_name == "DEMO^BRAVO"
    assert bravo.number_of_instances == 4
    assert bravo.modalities == ["MG"]
    assert bravo.size_bytes == folder_size(BRAVO)
    views = {(i["laterality"], i["view"]) for i in store.index.instances(bravo.study_uid)}
    assert views == {("R", "CC"), ("L", "CC"), ("R", "MLO")}


def test_import_twice_skips_duplicates(tmp_path):
    store = CacheStore(tmp_path / "cache")
    import_paths(store, [CURRENT])
    again = import_paths(store, [CURRENT, PRIOR])
    assert again.added == 4
    assert again.skipped_duplicates == 4
    assert len(store.studies()) == 2


def test_import_reports_non_dicom(tmp_path):
    source = tmp_path / "mixed"
    source.mkdir()
    shutil.copy(BRAVO / "RCC_SPOT.dcm", source / "spot.dcm")
    (source / "notes.txt").write_text("not DICOM")
    store = CacheStore(tmp_path / "cache")
    result = import_paths(store, [source])
    assert result.added == 1
    assert [problem.path.name for problem in result.problems] == ["notes.txt"]


def test_import_dicomdir(tmp_path):
    media = tmp_path / "media"
    fileset = FileSet()
    for path in sorted(BRAVO.glob("*.dcm")):
        fileset.add(pydicom.dcmread(path))
    fileset.write(media)
    store = CacheStore(tmp_path / "cache")
    result = import_paths(store, [media / "DICOMDIR"])
    assert result.added == 4
    assert [row.study_uid for row in store.studies()] == [study_uid(BRAVO)]


def test_filters_match_like_the_browser(tmp_path):
    store = CacheStore(tmp_path / "cache")
    import_paths(store, [EXAMS])
    assert len(store.studies(StudyFilter(patient_name="demo^a*"))) == 2
    assert len(store.studies(StudyFilter(patient_name="DEMO^?RAVO"))) == 1
    assert len(store.studies(StudyFilter(patient_id="DEMO-0002"))) == 1
    since = store.studies(StudyFilter(date_from=dt.date(2025, 1, 1)))
    assert {row.study_date for row in since} == {"20251112", "20251113"}
    until = store.studies(StudyFilter(date_to=dt.date(2024, 1, 1)))
    assert [row.study_date for row in until] == ["20231030"]
    assert store.studies(StudyFilter(modalities=["CT"])) == []
    accession = pydicom.dcmread(CURRENT / "RCC.dcm", stop_before_pixels=True).AccessionNumber
    assert [row.study_uid for row in store.studies(StudyFilter(accession_number=accession))] \
        == [study_uid(CURRENT)]


def test_discarded_batch_leaves_nothing(tmp_path):
    store = CacheStore(tmp_path / "cache")
    batch = store.begin_batch("TEST")
    path = CURRENT / "RCC.dcm"
    batch.add_file(path, pydicom.dcmread(path, stop_before_pixels=True), "1.2.840.10008.1.2.4.90")
    assert store.studies() == []
    batch.discard()
    assert store.studies() == []
    assert list((store.root / "incoming").iterdir()) == []
    assert not (store.root / "dicom").exists() or list((store.root / "dicom").rglob("*")) == []


def test_abandoned_batch_removed_on_open(tmp_path):
    root = tmp_path / "cache"
    CacheStore(root)
    # No process has this ID: Linux caps process IDs at 4194304.
    leftover = root / "incoming" / "999999999-deadbeef"
    leftover.mkdir(parents=True)
    (leftover / "x.dcm.part").write_bytes(b"partial")
    mine = root / "incoming" / f"{os.getpid()}-alive"
    mine.mkdir()
    CacheStore(root)
    assert not leftover.exists()
    assert mine.exists()


def test_quota_evicts_least_recent(tmp_path):
    store = CacheStore(tmp_path / "cache")
    import_paths(store, [PRIOR])
    import_paths(store, [BRAVO])
    store.study_paths(study_uid(PRIOR))  # The prior is now the most recently used.
    store.quota_bytes = folder_size(PRIOR) + folder_size(CURRENT) + 1
    import_paths(store, [CURRENT])
    remaining = {row.study_uid for row in store.studies()}
    assert remaining == {study_uid(PRIOR), study_uid(CURRENT)}
    assert not (store.root / "dicom" / study_uid(BRAVO)).exists()


def test_quota_spares_pinned_and_open(tmp_path):
    store = CacheStore(tmp_path / "cache")
    import_paths(store, [PRIOR])
    import_paths(store, [BRAVO])
    store.index.set_pinned(study_uid(PRIOR), True)
    store.mark_open(study_uid(BRAVO))
    store.quota_bytes = 1
    import_paths(store, [CURRENT])
    remaining = {row.study_uid for row in store.studies()}
    assert remaining == {study_uid(PRIOR), study_uid(BRAVO)}
    store.mark_closed(study_uid(BRAVO))
    assert store.enforce_quota() == [study_uid(BRAVO)]


def test_malformed_uid_stays_inside_cache():
    assert safe_uid_name("1.2.840.10008") == "1.2.840.10008"
    for bad in ("../../etc/passwd", "1.2/../../x", "", "1." * 40):
        name = safe_uid_name(bad)
        assert "/" not in name
        assert ".." not in name
        assert name.startswith("x")
