"""Overlay planes (PS3.3 C.9.2) on constructed input and against dcmj2pnm."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from mammo_workstation.pipeline.overlays import overlay_planes
from tests.conftest import data_path
from tests.pipeline.dcmtk import DCMJ2PNM, dcmj2pnm


def overlay_dataset(group: int, rows: int, columns: int, origin: list[int], bits: np.ndarray,
                    frames: int | None = None, first_frame: int | None = None) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored = 4, 4, 16, 16
    ds.add_new((group, 0x0010), "US", rows)
    ds.add_new((group, 0x0011), "US", columns)
    ds.add_new((group, 0x0050), "SS", origin)
    ds.add_new((group, 0x0040), "CS", "G")
    ds.add_new((group, 0x0100), "US", 1)
    ds.add_new((group, 0x0102), "US", 0)
    if frames is not None:
        ds.add_new((group, 0x0015), "IS", frames)
    if first_frame is not None:
        ds.add_new((group, 0x0051), "US", first_frame)
    packed = np.packbits(bits.astype(np.uint8).ravel(), bitorder="little").tobytes()
    ds.add_new((group, 0x3000), "OW", packed + b"\0" * (len(packed) % 2))
    return ds


def test_overlay_bits_little_endian_order() -> None:
    bits = np.array([[1, 0, 0], [0, 1, 1]], dtype=bool)
    plane = overlay_planes(overlay_dataset(0x6000, 2, 3, [1, 1], bits))[0]
    np.testing.assert_array_equal(plane.bitmap, bits)
    assert plane.origin == (0, 0)


def test_overlay_past_image_edge_is_kept_and_clipped() -> None:
    # Origin (0, 3) is one row above the image and in its third column; 3 x 3 bits.
    bits = np.ones((3, 3), dtype=bool)
    plane = overlay_planes(overlay_dataset(0x6002, 3, 3, [0, 3], bits))[0]
    assert plane.origin == (-1, 2)
    assert plane.bitmap.shape == (3, 3)  # nothing cut from the plane itself
    expected = np.zeros((4, 4), dtype=bool)
    expected[0:2, 2:4] = True
    np.testing.assert_array_equal(plane.clipped(4, 4), expected)


def test_multi_frame_overlay_follows_image_frame_origin() -> None:
    frames = np.zeros((2, 2, 2), dtype=bool)
    frames[0, 0, 0] = True
    frames[1, 1, 1] = True
    ds = overlay_dataset(0x6000, 2, 2, [1, 1], frames, frames=2, first_frame=3)
    assert overlay_planes(ds, frame=1) == []
    first = overlay_planes(ds, frame=2)[0].bitmap
    second = overlay_planes(ds, frame=3)[0].bitmap
    assert first.tolist() == [[True, False], [False, False]]
    assert second.tolist() == [[False, False], [False, True]]
    assert overlay_planes(ds, frame=4) == []


@pytest.mark.skipif(DCMJ2PNM is None, reason="dcmtk's dcmj2pnm is not installed")
def test_overlays_match_dcmj2pnm(tmp_path: Path) -> None:
    """Overlay Data planes and the retired high-bit planes, as dcmj2pnm draws them."""
    import pydicom

    path = data_path("real/decoding/weasis/overlay.dcm")
    planes = overlay_planes(pydicom.dcmread(path))
    assert [plane.group for plane in planes] == [0x6000, 0x6002, 0x6004, 0x6006]
    without = dcmj2pnm(path, ("-O", "+Wm"), tmp_path / "none.pgm")
    for number, plane in enumerate(planes, start=1):
        drawn = dcmj2pnm(path, ("+O", str(number), "+Wm"), tmp_path / "plane.pgm") != without
        visible = plane.bitmap & (without != 255)  # replace mode draws white: white stays white
        assert not (drawn & ~plane.bitmap).any(), f"plane {number}: dcmtk draws bits we lack"
        assert not (visible & ~drawn).any(), f"plane {number}: we have bits dcmtk does not draw"
