"""Fixtures that start real DICOM peers in a network namespace, seeded with the test exams."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from pydicom.dataelem import DataElement
from pydicom.uid import generate_uid

from mammo_workstation.cache import CacheStore
from mammo_workstation.net import CallingAE, StorageSCP
from mammo_workstation.settings import LocalAE, RemoteNode
from tests.net.dicom_peers import (
    DEMO_0001_CURRENT,
    DEMO_0001_PRIOR,
    DEMO_0002,
    Dcmqrscp,
    Netns,
    Orthanc,
    create_netns_or_skip,
    free_port,
)

LOCAL_AET = "MAMMOWS"
TIMEOUT_S = 10.0


@pytest.fixture(scope="session")
def netns() -> Iterator[Netns]:
    namespace = create_netns_or_skip()
    try:
        yield namespace
    finally:
        namespace.delete()


@pytest.fixture(scope="session")
def scp_port(netns: Netns) -> int:
    """The port our Storage SCP listens on, at the host end of the namespace link."""
    return free_port(netns.host_ip)


# Patients whose names need a Specific Character Set: (Patient ID, name, declared character
# set or None for a file that omits it, encoding of the name bytes).
CHARSET_PATIENTS = [
    ("CHARSET-LATIN1", "Müller^Anna", "ISO_IR 100", "latin-1"),
    ("CHARSET-UTF8", "Şahin^Zoë", "ISO_IR 192", "utf-8"),
    ("CHARSET-NONE-UTF8", "Øster^Åse", None, "utf-8"),
    ("CHARSET-NONE-LATIN1", "Gómez^Inés", None, "latin-1"),
]


def write_charset_variant(source: Path, target: Path, patient_id: str, name: str,
                          charset: str | None, encoding: str) -> None:
    """Copy ``source`` as a new patient whose name is stored as ``encoding`` bytes."""
    ds = pydicom.dcmread(source)
    ds.PatientID = patient_id
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    if charset is None:
        ds.pop("SpecificCharacterSet", None)
    else:
        ds.SpecificCharacterSet = charset
    ds[0x00100010] = DataElement(0x00100010, "PN", name.encode(encoding))
    ds.save_as(target, enforce_file_format=True)


@pytest.fixture(scope="session")
def charset_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("charset")
    source = DEMO_0002 / "RCC_SPOT.dcm"
    files = []
    for patient_id, name, charset, encoding in CHARSET_PATIENTS:
        target = folder / f"{patient_id}.dcm"
        write_charset_variant(source, target, patient_id, name, charset, encoding)
        files.append(target)
    return files


def exam_files() -> list[Path]:
    return sorted([*DEMO_0001_CURRENT.glob("*.dcm"), *DEMO_0001_PRIOR.glob("*.dcm"),
                   *DEMO_0002.glob("*.dcm")])


@pytest.fixture(scope="session")
def orthanc(netns: Netns, scp_port: int, tmp_path_factory: pytest.TempPathFactory,
            charset_files: list[Path]) -> Iterator[Orthanc]:
    folder = tmp_path_factory.mktemp("orthanc")
    peer = Orthanc(netns, folder, {LOCAL_AET: (LOCAL_AET, netns.host_ip, scp_port)})
    peer.start()
    try:
        peer.upload(exam_files())
        peer.upload(charset_files[:2])  # Orthanc needs a declared character set.
        yield peer
    finally:
        peer.stop()


@pytest.fixture(scope="session")
def dcmqrscp(netns: Netns, scp_port: int, tmp_path_factory: pytest.TempPathFactory,
             charset_files: list[Path]) -> Iterator[Dcmqrscp]:
    folder = tmp_path_factory.mktemp("dcmqrscp")
    peer = Dcmqrscp(netns, folder, "DCMQRSCP", {LOCAL_AET: (netns.host_ip, scp_port)})
    peer.add_files([*DEMO_0001_CURRENT.glob("*.dcm"), *DEMO_0002.glob("*.dcm"), *charset_files])
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()


def node_of(peer: Orthanc | Dcmqrscp, method: str = "C-MOVE") -> RemoteNode:
    return RemoteNode(name=peer.ae_title.lower(), ae_title=peer.ae_title, host=peer.host,
                      port=peer.port, retrieve_method=method)


@pytest.fixture
def calling() -> CallingAE:
    return CallingAE(LOCAL_AET, TIMEOUT_S)


@pytest.fixture
def store(tmp_path: Path) -> CacheStore:
    return CacheStore(tmp_path / "cache")


@pytest.fixture
def scp(netns: Netns, scp_port: int, store: CacheStore) -> Iterator[StorageSCP]:
    server = StorageSCP(LocalAE(LOCAL_AET, scp_port, netns.host_ip), store, TIMEOUT_S)
    server.start()
    try:
        yield server
    finally:
        server.stop()
