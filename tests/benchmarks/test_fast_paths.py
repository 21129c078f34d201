"""The speed-ups the benchmarks measure: reduced-resolution JPEG 2000, box levels, pixel cache."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from mammo_workstation.cache.pixels import PixelCache
from mammo_workstation.dicom import fast_decode
from mammo_workstation.dicom.decode import DecodedFrame, decode_frame
from tests.conftest import DEMO_CURRENT, DEMO_PRIOR


@pytest.fixture(scope="module")
def rcc() -> pydicom.Dataset:
    return pydicom.dcmread(DEMO_CURRENT / "RCC.dcm")


def test_reduce_zero_matches_decode_frame(rcc) -> None:
    reduced = fast_decode.decode_reduced(rcc, 0, 0)
    full = decode_frame(rcc, 0)
    assert reduced.frame.pixels.dtype == full.pixels.dtype
    assert np.array_equal(reduced.frame.pixels, full.pixels)
    assert reduced.frame.bits_stored == full.bits_stored
    assert reduced.frame.signed == full.signed


@pytest.mark.parametrize("reduce", [1, 2, 3])
def test_reduced_size_and_range(rcc, reduce: int) -> None:
    reduced = fast_decode.decode_reduced(rcc, 0, reduce)
    columns, rows = fast_decode.reduced_size((int(rcc.Columns), int(rcc.Rows)), reduce)
    assert reduced.frame.pixels.shape == (rows, columns)
    assert reduced.full_size == (int(rcc.Columns), int(rcc.Rows))
    low, high = fast_decode.stored_range(reduced.frame.bits_stored, reduced.frame.signed)
    assert reduced.frame.pixels.min() >= low
    assert reduced.frame.pixels.max() <= high


def test_reduced_level_follows_the_image(rcc) -> None:
    """A reduced decode is a low-pass copy: close to the box average, and no wrapped values."""
    full = decode_frame(rcc, 0).pixels
    reduced = fast_decode.decode_reduced(rcc, 0, 2).frame.pixels.astype(np.int64)
    box = fast_decode.box_reduce(full, 2).astype(np.int64)
    rows, columns = min(box.shape[0], reduced.shape[0]), min(box.shape[1], reduced.shape[1])
    difference = np.abs(reduced[:rows, :columns] - box[:rows, :columns])
    assert np.median(difference) < 200, "same image at the same scale"
    assert difference.max() < 40000, "no value wrapped around the 16-bit range"


def test_clamp_never_wraps() -> None:
    samples = np.array([[-5, 0, 4095, 4100, 70000]], dtype=np.int32)
    clamped = fast_decode.clamp_to_stored(samples, 12, False)
    assert clamped.dtype == np.uint16
    assert clamped.tolist() == [[0, 0, 4095, 4095, 4095]]
    signed = fast_decode.clamp_to_stored(np.array([[-3000, 3000]], dtype=np.int32), 12, True)
    assert signed.dtype == np.int16
    assert signed.tolist() == [[-2048, 2047]]


def test_choose_reduce_keeps_fit_sharp() -> None:
    # A 2864 x 4560 image fitted into 1920 x 1080 is shown at 1080 / 4560 = 0.237, so a
    # quarter-resolution level (0.25) is still at least as fine; an eighth (0.125) is not.
    assert fast_decode.choose_reduce((2864, 4560), (1920, 1080)) == 2
    assert fast_decode.choose_reduce((2864, 4560), (960, 540)) == 3
    assert fast_decode.choose_reduce((1000, 1000), (1920, 1080)) == 0


def test_box_reduce_rounds_half_up() -> None:
    pixels = np.array([[1, 2, 7], [3, 4, 7], [9, 9, 9]], dtype=np.uint16)
    assert fast_decode.box_reduce(pixels, 1).tolist() == [[3]]
    negative = np.array([[-3, -2], [-2, -2]], dtype=np.int16)
    assert fast_decode.box_reduce(negative, 1).tolist() == [[-2]]
    assert fast_decode.box_reduce(np.zeros((9, 17), np.uint16), 2).shape == (2, 4)


def test_non_jpeg2000_is_rejected() -> None:
    prior = pydicom.dcmread(DEMO_PRIOR / "RCC.dcm")
    assert not fast_decode.can_reduce(prior)
    with pytest.raises(fast_decode.DecodeError, match="JPEG 2000"):
        fast_decode.decode_reduced(prior, 0, 1)


@pytest.mark.parametrize("compression", ["raw", "htj2k"])
def test_pixel_cache_round_trip(tmp_path, compression: str) -> None:
    cache = PixelCache(tmp_path, compression=compression)
    pixels = np.arange(-3000, 4700, dtype=np.int16).reshape(100, 77)
    cache.store("1.2.3.4", 2, DecodedFrame(pixels, 13, True, "MONOCHROME1", ["a warning"]))
    loaded = cache.load("1.2.3.4", 2, (100, 77))
    assert loaded is not None
    assert np.array_equal(loaded.pixels, pixels)
    assert loaded.pixels.dtype == np.int16
    assert (loaded.bits_stored, loaded.signed, loaded.photometric) == (13, True, "MONOCHROME1")
    assert loaded.warnings == ["a warning"]
    assert cache.load("1.2.3.4", 2, (10, 10)) is None, "another shape is a miss"
    assert cache.load("1.2.3.4", 0) is None


def test_pixel_cache_ignores_damaged_files(tmp_path) -> None:
    cache = PixelCache(tmp_path)
    cache.store("1.2", 0, DecodedFrame(np.ones((8, 8), np.uint16), 16, False, "MONOCHROME2"))
    path = cache.path_of("1.2")
    path.write_bytes(path.read_bytes()[:-5])
    assert cache.load("1.2") is None
    path.write_bytes(b"not a cache file")
    assert cache.load("1.2") is None


def test_pixel_cache_quota_drops_oldest(tmp_path) -> None:
    cache = PixelCache(tmp_path, quota_bytes=3000)
    frame = DecodedFrame(np.zeros((30, 30), np.uint16), 16, False, "MONOCHROME2")  # 1800 bytes
    cache.store("1.1", 0, frame)
    cache.store("1.2", 0, frame)
    assert not cache.contains("1.1")
    assert cache.contains("1.2")


def test_pixel_cache_file_names_stay_inside(tmp_path) -> None:
    cache = PixelCache(tmp_path)
    assert cache.path_of("../../etc/passwd").parent == tmp_path
