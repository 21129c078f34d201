"""Every file in the shared test data loads, or fails with a clear message naming it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from mammo_workstation.dicom.decode import DecodeError, decode_frame, read_dataset
from mammo_workstation.dicom.loader import load_paths, read_instance
from tests.conftest import DATA_DIR, data_path

# Files the data README lists as expected to fail, with a word their error must contain.
EXPECTED_DECODE_FAILURES = {
    "real/decoding/pylibjpeg-data/966.dcm": "corrupt",
    "real/decoding/nema-wg04/RG2_JPLY.dcm": "corrupt",
}
NO_PIXEL_DATA = {
    "real/decoding/weasis/prLUTs.dcm",
    "real/decoding/weasis/NeurosurgeryPlan.dcm",
    "real/headers/MG-Im-Hologic-PropProj.dcm",
}


def _all_files() -> list[str]:
    if not DATA_DIR.is_dir():
        return []
    return sorted(str(p.relative_to(DATA_DIR)) for p in DATA_DIR.rglob("*.dcm"))


@pytest.mark.parametrize("relative", _all_files() or ["(shared data absent)"])
def test_file_decodes_or_fails_clearly(relative: str) -> None:
    path = data_path(relative)
    instance = read_instance(path)
    assert instance.sop_instance_uid
    if relative in NO_PIXEL_DATA:
        assert not instance.has_pixel_data
        with pytest.raises(DecodeError, match="no Pixel Data"):
            decode_frame(read_dataset(path), name=path.name)
        return
    assert instance.has_pixel_data
    dataset = read_dataset(path)
    if relative in EXPECTED_DECODE_FAILURES:
        with pytest.raises(DecodeError) as raised:
            decode_frame(dataset, name=path.name)
        assert path.name in str(raised.value)
        assert EXPECTED_DECODE_FAILURES[relative] in str(raised.value)
        return
    frame = decode_frame(dataset, name=path.name)
    assert frame.pixels.shape[:2] == (instance.rows, instance.columns)


@pytest.mark.parametrize(
    ("relative", "reference"),
    [
        ("real/decoding/nema-wg04/CT1_J2KR.dcm", "real/decoding/nema-wg04/CT1_UNC.dcm"),
        ("real/decoding/nema-wg04/CT1_JLSL.dcm", "real/decoding/nema-wg04/CT1_UNC.dcm"),
        ("real/decoding/nema-wg04/CT1_JPLL.dcm", "real/decoding/nema-wg04/CT1_UNC.dcm"),
        ("real/decoding/nema-wg04/CT1_RLE.dcm", "real/decoding/nema-wg04/CT1_UNC.dcm"),
        ("real/decoding/fo-dicom/D_CLUNIE_CT1_RLE_FRAGS.dcm", "real/decoding/nema-wg04/CT1_UNC.dcm"),
        ("real/decoding/nema-wg04/RG2_J2KR.dcm", "real/decoding/nema-wg04/RG2_RLE.dcm"),
        ("real/decoding/nema-wg04/RG2_JLSL.dcm", "real/decoding/nema-wg04/RG2_RLE.dcm"),
        ("real/decoding/nema-wg04/RG2_JPLL.dcm", "real/decoding/nema-wg04/RG2_RLE.dcm"),
        ("real/decoding/nema-wg04/RG3_J2KR.dcm", "real/decoding/nema-wg04/RG3_RLE.dcm"),
        ("real/decoding/pydicom-data/emri_small_RLE.dcm", "real/decoding/pydicom-data/emri_small.dcm"),
        ("real/decoding/pydicom-data/emri_small_big_endian.dcm", "real/decoding/pydicom-data/emri_small.dcm"),
        ("real/decoding/pydicom-data/emri_small_jpeg_2k_lossless.dcm", "real/decoding/pydicom-data/emri_small.dcm"),
        ("real/decoding/pydicom-data/emri_small_jpeg_ls_lossless.dcm", "real/decoding/pydicom-data/emri_small.dcm"),
        ("real/decoding/pydicom-3.0.2/MR_small_RLE.dcm", "real/decoding/pydicom-3.0.2/MR_small_bigendian.dcm"),
    ],
)
def test_lossless_codecs_match_uncompressed_twin(relative: str, reference: str) -> None:
    """A lossless encoding decodes to exactly the pixels of its uncompressed twin."""
    ours = decode_frame(read_dataset(data_path(relative))).pixels
    twin = decode_frame(read_dataset(data_path(reference))).pixels
    np.testing.assert_array_equal(ours.astype(np.int64), twin.astype(np.int64))


def test_demo_exam_decodes_like_pydicom() -> None:
    """The JPEG 2000 demo images decode to the same values as pydicom with OpenJPEG."""
    path = data_path("exams", "DEMO-0001", "2025-11-12_screening", "LCC.dcm")
    expected = pydicom.dcmread(path).pixel_array
    np.testing.assert_array_equal(decode_frame(read_dataset(path)).pixels, expected)


def test_folder_scan_lists_bad_files_with_reason(tmp_path: Path) -> None:
    good = data_path("real", "decoding", "nema-wg04", "CT1_UNC.dcm")
    (tmp_path / "good.dcm").write_bytes(good.read_bytes())
    (tmp_path / "truncated.dcm").write_bytes(good.read_bytes()[:300])
    (tmp_path / "notes.txt").write_text("not DICOM")
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    (nested / "copy.dcm").write_bytes(good.read_bytes())
    collection = load_paths([tmp_path])
    reasons = {problem.path.name: problem.reason for problem in collection.problems}
    assert set(reasons) == {"truncated.dcm", "notes.txt"}
    assert "DICOM" in reasons["notes.txt"]
    assert "truncated" in reasons["truncated.dcm"]
    assert len(collection.instances) == 1  # the nested copy is the same SOP instance


def test_truncated_pixel_data_is_a_decode_error(tmp_path: Path) -> None:
    source = data_path("exams", "DEMO-0001", "2025-11-12_screening", "RCC.dcm")
    truncated = tmp_path / "RCC_truncated.dcm"
    truncated.write_bytes(source.read_bytes()[: 2_000_000])
    with pytest.raises(DecodeError, match=r"RCC_truncated\.dcm"):
        decode_frame(read_dataset(truncated), name=truncated.name)


def test_dicomdir_opens_referenced_files(tmp_path: Path) -> None:
    from pydicom.fileset import FileSet

    fileset = FileSet()
    for name in ("RCC.dcm", "LCC.dcm"):
        fileset.add(data_path("exams", "DEMO-0001", "2025-11-12_screening", name))
    fileset.write(tmp_path)
    collection = load_paths([tmp_path / "DICOMDIR"])
    assert not collection.problems
    assert sorted(i.view_label for i in collection.instances) == ["LCC", "RCC"]


def test_interrupted_transfer_reports_truncation(tmp_path: Path) -> None:
    """A file cut at two thirds (inside the JPEG 2000 fragments) is named as truncated."""
    source = data_path("exams", "DEMO-0001", "2025-11-12_screening", "LMLO.dcm").read_bytes()
    truncated = tmp_path / "LMLO.dcm"
    truncated.write_bytes(source[: len(source) * 2 // 3])
    with pytest.raises(DecodeError) as raised:
        read_dataset(truncated)
    assert "LMLO.dcm" in str(raised.value)
    assert "truncated" in str(raised.value)
