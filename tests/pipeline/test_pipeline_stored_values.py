"""Stored values from constructed Pixel Data (PS3.5 8.1.1, 8.2.4; PS3.3 C.7.6.3.1)."""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from mammo_workstation.dicom.decode import decode_frame, jpeg2000_siz


def pixel_dataset(
    pixel_data: bytes, rows: int, columns: int, allocated: int, stored: int, signed: bool
) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = allocated, stored, stored - 1
    ds.PixelRepresentation = int(signed)
    ds.add_new(0x7FE00010, "OB" if allocated == 8 else "OW", pixel_data)
    return ds


def test_garbage_high_bits_cleared() -> None:
    # 12 bits stored in 16: an overlay or junk in bits 12-15 must not reach the display.
    values = np.array([0x0ABC, 0xF123, 0x8FFF, 0x1000], dtype="<u2")
    decoded = decode_frame(pixel_dataset(values.tobytes(), 2, 2, 16, 12, False))
    assert decoded.pixels.ravel().tolist() == [0xABC, 0x123, 0xFFF, 0x000]


def test_signed_12_bit_sign_extended() -> None:
    # Two's complement in 12 bits: 0x800 is -2048, 0xFFF is -1, 0x7FF is 2047; garbage above.
    values = np.array([0x0800, 0xFFFF, 0x37FF, 0xA001], dtype="<u2")
    decoded = decode_frame(pixel_dataset(values.tobytes(), 2, 2, 16, 12, True))
    assert decoded.signed
    assert decoded.pixels.ravel().tolist() == [-2048, -1, 2047, 1]


def test_signed_9_bit() -> None:
    values = np.array([0x0100, 0x01FF, 0x00FF, 0xFE00], dtype="<u2")
    decoded = decode_frame(pixel_dataset(values.tobytes(), 1, 4, 16, 9, True))
    assert decoded.pixels.ravel().tolist() == [-256, -1, 255, 0]


def test_odd_length_pixel_data_with_pad_byte() -> None:
    # 3 x 3 8-bit pixels are 9 bytes; PS3.5 7.1 pads the value to an even length.
    data = bytes(range(10, 19)) + b"\x00"
    decoded = decode_frame(pixel_dataset(data, 3, 3, 8, 8, False))
    assert decoded.pixels.shape == (3, 3)
    assert decoded.pixels.ravel().tolist() == list(range(10, 19))


def test_jpeg2000_siz_reads_precision_and_sign() -> None:
    # SOC, SIZ marker: Lsiz, Rsiz, sizes and offsets (32 bytes), Csiz 1, then Ssiz.
    header = b"\xff\x4f\xff\x51" + b"\x00\x29" + b"\x00\x00" + b"\x00" * 32 + b"\x00\x01"
    assert jpeg2000_siz(header + bytes([0x8D, 1, 1])) == (14, True)
    assert jpeg2000_siz(header + bytes([0x0C, 1, 1])) == (13, False)
    assert jpeg2000_siz(b"no codestream") is None
