"""C-ECHO and C-FIND against Orthanc and dcmqrscp, including character sets and failures."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest

from mammo_workstation.net import (
    CallingAE,
    DicomNetworkError,
    StudyQuery,
    echo,
    find_instances,
    find_series,
    find_studies,
)
from mammo_workstation.net.query import parse_date_range
from mammo_workstation.settings import RemoteNode
from tests.net.conftest import CHARSET_PATIENTS, node_of
from tests.net.dicom_peers import (
    DEMO_0001_CURRENT,
    DEMO_0001_PRIOR,
    DEMO_0002,
    Netns,
    Storescp,
)

pytestmark = pytest.mark.network


def header(path: Path) -> pydicom.Dataset:
    return pydicom.dcmread(path, stop_before_pixels=True)


def test_echo_orthanc_succeeds(orthanc, calling):
    result = echo(node_of(orthanc), calling)
    assert result.ok, result.message
    assert "ORTHANC" in result.message


def test_echo_pacs_down_names_peer(netns: Netns, calling):
    node = RemoteNode(name="down", ae_title="DOWN", host=netns.peer_ip, port=4299)
    result = echo(node, calling)
    assert not result.ok
    assert f"DOWN at {netns.peer_ip}:4299" in result.message
    assert "connection refused" in result.message


def test_echo_wrong_called_aet_is_rejected(orthanc, calling):
    node = RemoteNode(name="wrong", ae_title="NOTORTHANC", host=orthanc.host, port=orthanc.port)
    result = echo(node, calling)
    assert not result.ok
    assert "rejected the association" in result.message
    assert "NOTORTHANC" in result.message


def test_echo_storescp_refusing(netns: Netns, tmp_path, calling):
    # storescp 3.6.7 --refuse closes the connection without an A-ASSOCIATE-RJ (its log shows
    # "Association Reject Failed"), so the requestor sees the association end unaccepted.
    peer = Storescp(netns, tmp_path, "REFUSER", 11150, extra=["--refuse"]).start()
    try:
        result = echo(RemoteNode(name="r", ae_title="REFUSER", host=peer.host, port=peer.port),
                      calling)
    finally:
        peer.stop()
    assert not result.ok
    assert "REFUSER" in result.message
    assert "rejected the association" in result.message or "before accepting" in result.message


@pytest.fixture
def silent_listener() -> Iterator[tuple[str, int]]:
    """A TCP port on loopback that accepts connections and never sends a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", server.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in accepted:
            connection.close()
        server.close()


def test_echo_timeout_names_peer(silent_listener):
    host, port = silent_listener
    started = time.monotonic()
    result = echo(RemoteNode(name="mute", ae_title="MUTE", host=host, port=port),
                  CallingAE("MAMMOWS", 1.0))
    assert not result.ok
    assert f"MUTE at {host}:{port}" in result.message
    assert "1 s" in result.message
    assert time.monotonic() - started < 10


def test_find_by_patient_name_wildcard(orthanc, calling):
    studies = find_studies(node_of(orthanc), StudyQuery(patient_name="DEMO*"), calling)
    expected = {str(header(next(folder.glob("*.dcm"))).StudyInstanceUID)
                for folder in (DEMO_0001_CURRENT, DEMO_0001_PRIOR, DEMO_0002)}
    assert {study.study_uid for study in studies} == expected
    assert [study.study_date for study in studies] == ["20251113", "20251112", "20231030"]


def test_find_by_patient_id_and_accession(orthanc, calling):
    current = header(DEMO_0001_CURRENT / "RCC.dcm")
    node = node_of(orthanc)
    by_id = find_studies(node, StudyQuery(patient_id="DEMO-0001"), calling)
    assert len(by_id) == 2
    by_accession = find_studies(node, StudyQuery(accession_number=current.AccessionNumber),
                                calling)
    assert [study.study_uid for study in by_accession] == [current.StudyInstanceUID]
    assert by_accession[0].patient_name == "DEMO^ALPHA"
    assert by_accession[0].number_of_instances == 4
    assert by_accession[0].modalities == ["MG"]


def test_find_by_date_range_and_modality(orthanc, calling):
    node = node_of(orthanc)
    recent = find_studies(node, StudyQuery(date_from=dt.date(2025, 1, 1)), calling)
    assert {study.study_date for study in recent} == {"20251112", "20251113"}
    bounded = find_studies(
        node, StudyQuery(date_from=dt.date(2023, 1, 1), date_to=dt.date(2023, 12, 31)), calling)
    assert [study.study_date for study in bounded] == ["20231030"]
    assert find_studies(node, StudyQuery(patient_id="DEMO-0001", modality="CT"), calling) == []


def test_find_series_and_images(orthanc, calling):
    current = header(DEMO_0001_CURRENT / "RCC.dcm")
    node = node_of(orthanc)
    series = find_series(node, current.StudyInstanceUID, calling)
    assert [s.description for s in series] == ["R CC", "L CC", "R MLO", "L MLO"]
    assert [s.series_number for s in series] == [1, 2, 3, 4]
    images = find_instances(node, current.StudyInstanceUID, series[0].series_uid, calling)
    assert [image.sop_instance_uid for image in images] == [current.SOPInstanceUID]
    assert images[0].sop_class_uid == "1.2.840.10008.5.1.4.1.1.1.2"
    assert (images[0].rows, images[0].columns) == (4560, 2864)


@pytest.mark.parametrize("patient", CHARSET_PATIENTS[:2], ids=["ISO_IR 100", "ISO_IR 192"])
def test_find_decodes_names_orthanc(orthanc, calling, patient):
    patient_id, name, _, _ = patient
    studies = find_studies(node_of(orthanc), StudyQuery(patient_id=patient_id, modality=""),
                           calling)
    assert [study.patient_name for study in studies] == [name]


def test_find_non_ascii_name_key(orthanc, calling):
    studies = find_studies(node_of(orthanc), StudyQuery(patient_name="Müller*", modality=""),
                           calling)
    assert [study.patient_id for study in studies] == ["CHARSET-LATIN1"]


@pytest.mark.parametrize("patient", CHARSET_PATIENTS, ids=[p[0] for p in CHARSET_PATIENTS])
def test_find_decodes_names_dcmqrscp(dcmqrscp, calling, patient):
    patient_id, name, _, _ = patient
    studies = find_studies(node_of(dcmqrscp), StudyQuery(patient_id=patient_id, modality=""),
                           calling)
    assert [study.patient_name for study in studies] == [name]


def test_find_dcmqrscp_studies(dcmqrscp, calling):
    studies = find_studies(node_of(dcmqrscp), StudyQuery(patient_id="DEMO*", modality=""),
                           calling)
    assert {study.patient_id for study in studies} == {"DEMO-0001", "DEMO-0002"}


def test_find_down_raises_named_error(netns: Netns, calling):
    node = RemoteNode(name="down", ae_title="DOWN", host=netns.peer_ip, port=4299)
    with pytest.raises(DicomNetworkError, match=f"DOWN at {netns.peer_ip}:4299"):
        find_studies(node, StudyQuery(), calling)


@pytest.mark.parametrize(("text", "expected"), [
    ("20231030", (dt.date(2023, 10, 30), dt.date(2023, 10, 30))),
    ("20230101-20231231", (dt.date(2023, 1, 1), dt.date(2023, 12, 31))),
    ("20230101-", (dt.date(2023, 1, 1), None)),
    ("-20231231", (None, dt.date(2023, 12, 31))),
])
def test_parse_date_range(text, expected):
    assert parse_date_range(text) == expected


@pytest.mark.parametrize("text", ["2023", "20231301", "2023-01-01", "-", "abc"])
def test_parse_date_range_rejects(text):
    with pytest.raises(ValueError, match="invalid study date"):
        parse_date_range(text)
