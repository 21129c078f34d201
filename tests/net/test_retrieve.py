"""C-MOVE and C-GET into the cache from Orthanc and dcmqrscp: content, progress and failures."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid

from mammo_workstation.cache import CacheStore, StudyFilter
from mammo_workstation.net import (
    C_GET,
    C_MOVE,
    CallingAE,
    CancelToken,
    DicomNetworkError,
    OperationCancelledError,
    RetrieveProgress,
    StorageSCP,
    retrieve_study,
)
from mammo_workstation.settings import LocalAE, RemoteNode
from tests.net.conftest import LOCAL_AET, TIMEOUT_S, node_of
from tests.net.dicom_peers import (
    DEMO_0001_CURRENT,
    DEMO_0001_PRIOR,
    DEMO_0002,
    SHARED_DATA,
    Dcmqrscp,
    Netns,
    Orthanc,
)

pytestmark = pytest.mark.network

JPEG_2000_LOSSLESS = "1.2.840.10008.1.2.4.90"
RLE_LOSSLESS = "1.2.840.10008.1.2.5"


def originals(folder: Path) -> dict[str, pydicom.Dataset]:
    """The exam's files by SOP Instance UID."""
    result = {}
    for path in sorted(folder.glob("*.dcm")):
        ds = pydicom.dcmread(path)
        result[str(ds.SOPInstanceUID)] = ds
    return result


def study_uid(folder: Path) -> str:
    return str(pydicom.dcmread(next(folder.glob("*.dcm")), stop_before_pixels=True)
               .StudyInstanceUID)


def assert_cached_like(store: CacheStore, folder: Path, transfer_syntax: str) -> None:
    """Check that the cache contains exactly the exam's instances, pixel data byte for byte."""
    expected = originals(folder)
    paths = store.study_paths(study_uid(folder))
    assert len(paths) == len(expected)
    for path in paths:
        cached = pydicom.dcmread(path)
        original = expected[str(cached.SOPInstanceUID)]
        assert cached.file_meta.TransferSyntaxUID == transfer_syntax
        assert cached.PixelData == original.PixelData
        assert cached.PatientID == original.PatientID


def assert_nothing_left(store: CacheStore) -> None:
    assert store.studies() == []
    assert list((store.root / "dicom").rglob("*")) == []
    assert list((store.root / "incoming").rglob("*")) == []


def test_move_orthanc_keeps_jpeg2000(orthanc, scp, store, calling):
    seen: list[RetrieveProgress] = []
    result = retrieve_study(node_of(orthanc), study_uid(DEMO_0001_CURRENT), calling, store, scp,
                            progress=seen.append)
    assert result.method == C_MOVE
    assert result.received == 4
    assert result.warning == ""
    assert_cached_like(store, DEMO_0001_CURRENT, JPEG_2000_LOSSLESS)
    assert seen[-1].received == 4
    assert seen[-1].total == 4
    assert seen[-1].mb_per_s > 0
    rows = store.studies(StudyFilter(patient_id="DEMO-0001"))
    assert [row.complete for row in rows] == [True]
    assert rows[0].source_ae_title == "ORTHANC"


def test_move_twice_skips_duplicates(orthanc, scp, store, calling):
    node = node_of(orthanc)
    retrieve_study(node, study_uid(DEMO_0002), calling, store, scp)
    again = retrieve_study(node, study_uid(DEMO_0002), calling, store, scp)
    assert again.received == 0
    assert again.duplicates == 4
    assert len(store.study_paths(study_uid(DEMO_0002))) == 4


def test_get_orthanc_keeps_rle(orthanc, store, calling):
    result = retrieve_study(node_of(orthanc, C_GET), study_uid(DEMO_0001_PRIOR), calling, store)
    assert result.method == C_GET
    assert result.received == 4
    assert_cached_like(store, DEMO_0001_PRIOR, RLE_LOSSLESS)


def test_move_dcmqrscp_keeps_jpeg2000(dcmqrscp, scp, store, calling):
    result = retrieve_study(node_of(dcmqrscp), study_uid(DEMO_0001_CURRENT), calling, store, scp)
    assert result.received == 4
    assert_cached_like(store, DEMO_0001_CURRENT, JPEG_2000_LOSSLESS)


def test_get_dcmqrscp_keeps_jpeg2000(dcmqrscp, store, calling):
    result = retrieve_study(node_of(dcmqrscp, C_GET), study_uid(DEMO_0002), calling, store)
    assert result.received == 4
    assert_cached_like(store, DEMO_0002, JPEG_2000_LOSSLESS)


def test_move_without_scp_explains(orthanc, store, calling):
    with pytest.raises(DicomNetworkError, match="Storage SCP"):
        retrieve_study(node_of(orthanc), study_uid(DEMO_0002), calling, store, None)


def test_move_unknown_destination_dcmqrscp(dcmqrscp, netns, store, scp_port):
    other = StorageSCP(LocalAE("NOTKNOWN", scp_port, netns.host_ip), store)
    other.start()
    try:
        with pytest.raises(DicomNetworkError) as raised:
            retrieve_study(node_of(dcmqrscp), study_uid(DEMO_0002),
                           CallingAE("NOTKNOWN", TIMEOUT_S), store, other)
    finally:
        other.stop()
    assert raised.value.status == 0xA801
    assert "move destination NOTKNOWN" in str(raised.value)
    assert "Add this workstation to the PACS" in str(raised.value)
    assert_nothing_left(store)


def test_move_rejected_by_our_scp_orthanc(orthanc, netns, store, scp_port, calling):
    # Our Storage SCP only accepts another calling AE, so Orthanc cannot deliver.
    strict = StorageSCP(LocalAE(LOCAL_AET, scp_port, netns.host_ip, ["SOMEONE"]), store)
    strict.start()
    try:
        with pytest.raises(DicomNetworkError) as raised:
            retrieve_study(node_of(orthanc), study_uid(DEMO_0002), calling, store, strict)
    finally:
        strict.stop()
    assert raised.value.status is not None
    assert "ORTHANC at" in str(raised.value)
    assert "Storage SCP accepts" in str(raised.value)
    assert_nothing_left(store)


def test_move_dcmqrscp_unreachable_destination(netns, tmp_path, store, scp_port, calling):
    # dcmqrscp lists MAMMOWS at a port where nothing listens, so every sub-operation fails.
    peer = Dcmqrscp(netns, tmp_path, "DEADEND", {LOCAL_AET: (netns.host_ip, scp_port)},
                    port=11140)
    peer.add_files(DEMO_0002.glob("*.dcm"))
    peer.start()
    idle = StorageSCP(LocalAE(LOCAL_AET, 0, netns.host_ip), store)
    idle.start()  # Running, so the retrieve starts, but on another port than dcmqrscp uses.
    try:
        with pytest.raises(DicomNetworkError) as raised:
            retrieve_study(node_of(peer), study_uid(DEMO_0002), calling, store, idle)
    finally:
        idle.stop()
        peer.stop()
    assert raised.value.status == 0xA702
    assert "DEADEND at" in str(raised.value)
    assert_nothing_left(store)


@pytest.fixture
def partial_study(tmp_path: Path) -> tuple[str, list[Path]]:
    """Two mammograms and one JPEG XL instance in a new study: dcmqrscp can send only two."""
    uid = generate_uid()
    sources = [DEMO_0002 / "RCC_SPOT.dcm", DEMO_0002 / "RCC.dcm",
               SHARED_DATA / "real/decoding/dcm4che/will-jxl.dcm"]
    files = []
    for number, source in enumerate(sources, start=1):
        ds = pydicom.dcmread(source)
        ds.PatientID = "PARTIAL-1"
        ds.StudyInstanceUID = uid
        ds.SeriesInstanceUID = generate_uid()
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        target = tmp_path / f"partial{number}.dcm"
        ds.save_as(target, enforce_file_format=True)
        files.append(target)
    return uid, files


def test_move_partial_keeps_what_arrived(netns, tmp_path, store, scp, calling, partial_study):
    uid, files = partial_study
    peer = Dcmqrscp(netns, tmp_path / "dcmqrscp", "PARTIAL",
                    {LOCAL_AET: (netns.host_ip, scp.port)}, port=11141)
    peer.add_files(files)
    peer.start()
    try:
        result = retrieve_study(node_of(peer), uid, calling, store, scp)
    finally:
        peer.stop()
    assert result.received == 2
    assert result.failed == 1
    assert "one or more sub-operations failed" in result.warning
    rows = store.studies(StudyFilter(study_uid=uid))
    assert rows[0].number_of_instances == 2
    assert rows[0].expected_instances == 3
    assert not rows[0].complete


def test_cancel_move_leaves_nothing(orthanc, scp, store, calling):
    cancel = CancelToken()

    def cancel_after_first(progress: RetrieveProgress) -> None:
        if progress.received >= 1:
            cancel.cancel()

    started = time.monotonic()
    with pytest.raises(OperationCancelledError):
        retrieve_study(node_of(orthanc), study_uid(DEMO_0001_PRIOR), calling, store, scp,
                       progress=cancel_after_first, cancel=cancel)
    assert time.monotonic() - started < 15
    assert_nothing_left(store)
    rerun = retrieve_study(node_of(orthanc), study_uid(DEMO_0001_PRIOR), calling, store, scp)
    assert rerun.received == 4


def test_cancel_get_from_other_thread(orthanc, store, calling):
    cancel = CancelToken()
    timer = threading.Timer(0.05, cancel.cancel)
    timer.start()
    try:
        retrieve_study(node_of(orthanc, C_GET), study_uid(DEMO_0001_CURRENT), calling, store,
                       cancel=cancel)
    except OperationCancelledError:
        assert_nothing_left(store)
    else:
        # The whole study arrived before the C-CANCEL took effect; then it is kept whole.
        assert len(store.study_paths(study_uid(DEMO_0001_CURRENT))) == 4
    finally:
        timer.cancel()


def test_abort_mid_transfer_then_rerun(netns: Netns, tmp_path, store, scp, calling):
    peer = Orthanc(netns, tmp_path / "orthanc", {LOCAL_AET: (LOCAL_AET, netns.host_ip, scp.port)},
                   dicom_port=4250, http_port=8050)
    peer.start()
    try:
        peer.upload(DEMO_0001_PRIOR.glob("*.dcm"))
        node = RemoteNode(name="dying", ae_title=peer.ae_title, host=peer.host, port=peer.port)

        def kill_after_first(progress: RetrieveProgress) -> None:
            if progress.received >= 1:
                peer.kill_now()

        with pytest.raises(DicomNetworkError) as raised:
            retrieve_study(node, study_uid(DEMO_0001_PRIOR), calling, store, scp,
                           progress=kill_after_first)
        assert "aborted" in str(raised.value)
        assert f"ORTHANC at {peer.host}:{peer.port}" in str(raised.value)
        assert_nothing_left(store)

        peer.stop()
        peer.start()
        rerun = retrieve_study(node, study_uid(DEMO_0001_PRIOR), calling, store, scp)
    finally:
        peer.stop()
    assert rerun.received == 4
    assert_cached_like(store, DEMO_0001_PRIOR, RLE_LOSSLESS)


def test_retrieve_pacs_down(netns, store, scp, calling):
    node = RemoteNode(name="down", ae_title="DOWN", host=netns.peer_ip, port=4299)
    with pytest.raises(DicomNetworkError, match="Could not connect to DOWN"):
        retrieve_study(node, "1.2.3", calling, store, scp)
    assert_nothing_left(store)
