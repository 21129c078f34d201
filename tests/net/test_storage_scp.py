"""Our Storage SCP: every storage SOP class and transfer syntax from dcmtk's storescu."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from mammo_workstation.cache import CacheStore
from mammo_workstation.net import CallingAE, DicomNetworkError, StorageSCP, echo
from mammo_workstation.settings import LocalAE, RemoteNode
from tests.net.dicom_peers import DEMO_0002, SHARED_DATA, free_port

pytestmark = pytest.mark.network

DECODING = SHARED_DATA / "real/decoding"
# Files of distinct SOP instances covering CT, CR, MR, enhanced MR, SC, DX and GSPS in JPEG 2000
# (lossless and lossy), JPEG-LS (lossless and near-lossless), JPEG lossless SV1,
# JPEG extended, RLE, deflated, big endian and little endian transfer syntaxes.
SAMPLES = [
    "nema-wg04/CT1_J2KR.dcm",
    "nema-wg04/RG1_JLSN.dcm",
    "nema-wg04/RG2_JPLY.dcm",
    "nema-wg04/RG3_RLE.dcm",
    "nema-wg04/SC1_JPLL.dcm",
    "nema-wg04/BRTUM001.dcm",
    "pydicom-3.0.2/MR_small_bigendian.dcm",
    "pydicom-3.0.2/image_dfl.dcm",
    "pydicom-data/emri_small_jpeg_ls_lossless.dcm",
    "highdicom/dx_image.dcm",
    "weasis/prLUTs.dcm",
]
# SOP classes without a sample file, made in the test (PS3.4 B.5): MG For Processing, breast
# tomosynthesis, Basic Text SR, Key Object Selection and Encapsulated PDF.
MADE_SOP_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.1.2.1": "MG",
    "1.2.840.10008.5.1.4.1.1.13.1.3": "MG",
    "1.2.840.10008.5.1.4.1.1.88.11": "SR",
    "1.2.840.10008.5.1.4.1.1.88.59": "KO",
    "1.2.840.10008.5.1.4.1.1.104.1": "DOC",
}


# storescu 3.6.7 proposes only uncompressed syntaxes unless an option names a compressed one.
STORESCU_PROPOSE = {
    "1.2.840.10008.1.2.4.90": "-xv",
    "1.2.840.10008.1.2.4.91": "-xw",
    "1.2.840.10008.1.2.4.80": "-xt",
    "1.2.840.10008.1.2.4.81": "-xu",
    "1.2.840.10008.1.2.4.70": "-xs",
    "1.2.840.10008.1.2.4.51": "-xx",
    "1.2.840.10008.1.2.5": "-xr",
    "1.2.840.10008.1.2.1.99": "-xd",
    "1.2.840.10008.1.2.2": "-xb",
    "1.2.840.10008.1.2.1": "-xe",
}


def make_instance(folder: Path, sop_class: str, modality: str) -> Path:
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientID = "MADE-1"
    ds.PatientName = "MADE^ONE"
    ds.Modality = modality
    if modality == "DOC":
        ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
        ds.EncapsulatedDocument = b"%PDF-1.4\n%%EOF\n"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    path = folder / f"{sop_class}.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.fixture
def loopback_scp(tmp_path):
    store = CacheStore(tmp_path / "cache")
    scp = StorageSCP(LocalAE("MAMMOWS", free_port(), "127.0.0.1"), store)
    scp.start()
    try:
        yield scp
    finally:
        scp.stop()


def sample_paths(folder: Path) -> list[Path]:
    if not DECODING.is_dir():
        pytest.skip(f"test data not found at {DECODING.resolve()}")
    if shutil.which("storescu") is None:
        pytest.skip("dcmtk's storescu is not installed (Debian package dcmtk)")
    made = [make_instance(folder, uid, modality) for uid, modality in MADE_SOP_CLASSES.items()]
    return [DECODING / name for name in SAMPLES] + made + [DEMO_0002 / "RCC_SPOT.dcm"]


def test_accepts_every_sample_unchanged(loopback_scp, tmp_path):
    paths = sample_paths(tmp_path)
    for path in paths:
        syntax = str(pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID)
        completed = subprocess.run(
            ["storescu", "-aet", "PUSHER", "-aec", "MAMMOWS", "-R", STORESCU_PROPOSE[syntax],
             "127.0.0.1", str(loopback_scp.port), str(path)],
            capture_output=True, text=True, timeout=30)
        assert completed.returncode == 0, f"{path.name}: {completed.stderr}"
    store = loopback_scp.store
    cached = {}
    for row in store.studies():
        for path in store.study_paths(row.study_uid):
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            cached[str(ds.SOPInstanceUID)] = ds
    assert loopback_scp.unsolicited_received == len(paths)
    for path in paths:
        original = pydicom.dcmread(path, stop_before_pixels=True)
        received = cached[str(original.SOPInstanceUID)]
        assert received.SOPClassUID == original.SOPClassUID
        assert received.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID


def test_port_in_use_is_plain(loopback_scp):
    second = StorageSCP(LocalAE("MAMMOWS", loopback_scp.port, "127.0.0.1"),
                        loopback_scp.store)
    with pytest.raises(DicomNetworkError, match=f"port {loopback_scp.port} is already in use"):
        second.start()


def test_unlisted_calling_aet_rejected(tmp_path):
    store = CacheStore(tmp_path / "cache")
    scp = StorageSCP(LocalAE("MAMMOWS", free_port(), "127.0.0.1", ["ORTHANC"]), store)
    scp.start()
    try:
        node = RemoteNode(name="self", ae_title="MAMMOWS", host="127.0.0.1", port=scp.port)
        refused = echo(node, CallingAE("STRANGER", 5))
        allowed = echo(node, CallingAE("ORTHANC", 5))
    finally:
        scp.stop()
    assert not refused.ok
    assert "rejected the association" in refused.message
    assert allowed.ok, allowed.message
