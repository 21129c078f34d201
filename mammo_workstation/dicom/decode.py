"""Decode one frame of Pixel Data to stored values.

Compressed frames go to imagecodecs first (multi-threaded OpenJPEG, OpenJPH, CharLS, libjpeg
and libjxl; it releases the GIL, so frames decode in parallel on worker threads), then to
pydicom's own decoders (pylibjpeg, pyjpegls, RLE) as the fallback. Uncompressed, deflated, big
endian and RLE data go to pydicom directly.

The result is the stored value of every pixel, with unused high bits cleared and the sign
extended from Bits Stored, so the display pipeline never sees garbage bits.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import imagecodecs
import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.encaps import get_frame

logger = logging.getLogger(__name__)

JPEG2000_SYNTAXES = {"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"}
HTJ2K_SYNTAXES = {"1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203"}
JPEG_LS_SYNTAXES = {"1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"}
JPEG_LOSSLESS_SYNTAXES = {"1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70"}
JPEG_LOSSY_SYNTAXES = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"}
JPEG_XL_SYNTAXES = {"1.2.840.10008.1.2.4.110", "1.2.840.10008.1.2.4.111", "1.2.840.10008.1.2.4.112"}

_DECODER_THREADS = max(1, os.cpu_count() or 1)


class DecodeError(Exception):
    """Pixel data that cannot be decoded; the message names the file and the cause."""


@dataclass
class DecodedFrame:
    """Stored values of one frame and how to read them."""

    pixels: np.ndarray  # rows x columns (grayscale) or rows x columns x 3 (RGB, uint8)
    bits_stored: int
    signed: bool
    photometric: str
    warnings: list[str] = field(default_factory=list)

    @property
    def is_color(self) -> bool:
        return self.pixels.ndim == 3


def read_dataset(path: Path) -> Dataset:
    """Read a whole file including Pixel Data; raise :class:`DecodeError` with the cause.

    A file cut short (an interrupted transfer) makes pydicom warn and return what it could
    read, sometimes nothing at all; that is reported as truncated rather than passed on.
    """
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            dataset = pydicom.dcmread(path)
    except Exception as error:
        raise DecodeError(f"{path.name}: cannot read the file ({error})") from error
    if any("End of file reached" in str(warning.message) for warning in caught) or len(dataset) == 0:
        raise DecodeError(
            f"{path.name}: the file is truncated (it ends before its data set does); "
            "ask the sender to send it again"
        )
    for warning in caught:
        logger.warning("%s: %s", path.name, warning.message)
    return dataset


def decode_frame(ds: Dataset, frame: int = 0, *, name: str = "") -> DecodedFrame:
    """Decode frame ``frame`` (0-based) of ``ds``.

    ``name`` (the file name) goes into error messages.
    """
    name = name or Path(str(getattr(ds, "filename", "") or "dataset")).name
    if "PixelData" not in ds:
        raise DecodeError(f"{name}: no Pixel Data (7FE0,0010); nothing to display")
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if not 0 <= frame < frames:
        raise DecodeError(f"{name}: frame {frame + 1} requested, the file has {frames}")
    syntax = str(ds.file_meta.TransferSyntaxUID)
    warnings: list[str] = []
    pixels = None
    if syntax in _IMAGECODECS_DECODERS:
        pixels = _decode_with_imagecodecs(ds, frame, syntax, name, warnings)
    if pixels is None:
        pixels = _decode_with_pydicom(ds, frame, name)
    siz = _codestream_siz(ds, frame, syntax)
    if siz is not None:
        _check_jpeg2000_header(ds, siz, warnings, name)
    return _normalise(ds, pixels, syntax, warnings, siz)


def _decode_with_imagecodecs(
    ds: Dataset, frame: int, syntax: str, name: str, warnings: list[str]
) -> np.ndarray | None:
    try:
        data = get_frame(ds.PixelData, frame, number_of_frames=int(ds.get("NumberOfFrames", 1) or 1))
    except Exception as error:  # noqa: BLE001 - any failure here is reported, not raised
        logger.debug("%s: cannot split frames (%s)", name, error)
        return None
    try:
        decoded = _IMAGECODECS_DECODERS[syntax](data)
    except Exception as error:  # noqa: BLE001 - any failure here is reported, not raised
        logger.info("%s: imagecodecs could not decode (%s); trying pydicom", name, error)
        return None
    return np.asarray(decoded)


def _decode_with_pydicom(ds: Dataset, frame: int, name: str) -> np.ndarray:
    from pydicom.pixels import pixel_array

    try:
        return np.asarray(pixel_array(ds, index=frame))
    except NotImplementedError as error:
        syntax = ds.file_meta.TransferSyntaxUID
        raise DecodeError(
            f"{name}: no decoder for transfer syntax {syntax.name} ({syntax}); "
            "ask the sender to transcode it, for example to JPEG 2000 or uncompressed"
        ) from error
    except Exception as error:
        raise DecodeError(f"{name}: the pixel data is corrupt or truncated ({error})") from error


def _normalise(
    ds: Dataset,
    pixels: np.ndarray,
    syntax: str,
    warnings: list[str],
    codestream_siz: tuple[int, bool] | None = None,
) -> DecodedFrame:
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    if pixels.ndim == 3 and pixels.shape[-1] in (3, 4):
        return DecodedFrame(np.ascontiguousarray(pixels[..., :3]).astype(np.uint8, copy=False),
                            8, False, "RGB", warnings)
    if pixels.ndim == 3:
        pixels = pixels[..., 0]
    bits_stored = int(ds.get("BitsStored", 8 * pixels.dtype.itemsize) or 8)
    signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
    if syntax in JPEG2000_SYNTAXES | HTJ2K_SYNTAXES and codestream_siz is not None:
        # PS3.5 8.2.4: the codestream's precision wins over Bits Stored. A signed codestream
        # is decoded as signed whatever the header states. An unsigned codestream under Pixel
        # Representation 1 holds two's complement values from an encoder that ignored the
        # sign (a CT's -2000 arrives as 6192 in 13 bits), so the header's sign is kept, as
        # pydicom and GDCM do.
        bits_stored, codestream_signed = codestream_siz
        signed = signed or codestream_signed
    bits_stored = min(bits_stored, 8 * pixels.dtype.itemsize)
    return DecodedFrame(_stored_values(pixels, bits_stored, signed), bits_stored, signed,
                        photometric, warnings)


def _stored_values(pixels: np.ndarray, bits_stored: int, signed: bool) -> np.ndarray:
    """Clear the bits above Bits Stored and extend the sign (PS3.5 8.1.1)."""
    if not pixels.dtype.isnative:  # Explicit VR Big Endian data arrives byte-swapped.
        pixels = pixels.astype(pixels.dtype.newbyteorder("="))
    if pixels.dtype.itemsize > 2:
        pixels = pixels.astype(np.int32 if signed else np.uint32)
    width = 8 * pixels.dtype.itemsize
    if bits_stored >= width:
        target = np.dtype(f"{'i' if signed else 'u'}{pixels.dtype.itemsize}")
        return pixels.view(target) if pixels.dtype != target else pixels
    unsigned = pixels.view(np.dtype(f"u{pixels.dtype.itemsize}")) & ((1 << bits_stored) - 1)
    if not signed:
        return unsigned
    shift = width - bits_stored
    signed_dtype = np.dtype(f"i{pixels.dtype.itemsize}")
    return (unsigned.view(signed_dtype) << shift) >> shift


def _codestream_siz(ds: Dataset, frame: int, syntax: str) -> tuple[int, bool] | None:
    if syntax not in JPEG2000_SYNTAXES | HTJ2K_SYNTAXES:
        return None
    try:
        data = get_frame(ds.PixelData, frame, number_of_frames=int(ds.get("NumberOfFrames", 1) or 1))
    except (ValueError, TypeError, IndexError) as error:
        logger.debug("cannot split frames to read the JPEG 2000 SIZ marker (%s)", error)
        return None
    return jpeg2000_siz(data)


def _check_jpeg2000_header(
    ds: Dataset, siz: tuple[int, bool], warnings: list[str], name: str
) -> None:
    precision, signed = siz
    header_bits = int(ds.get("BitsStored", 0) or 0)
    header_signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
    if precision != header_bits or signed != header_signed:
        message = (
            f"{name}: the JPEG 2000 codestream has {precision}-bit "
            f"{'signed' if signed else 'unsigned'} samples but the header says Bits Stored "
            f"{header_bits}, Pixel Representation {int(header_signed)}; decoded with the "
            f"codestream's precision (PS3.5 8.2.4) as {'signed' if signed or header_signed else 'unsigned'}"
        )
        warnings.append(message)
        logger.warning("%s", message)


def jpeg2000_siz(codestream: bytes) -> tuple[int, bool] | None:
    """Precision and signedness of the first component from the SIZ marker (ISO 15444-1 A.5.1)."""
    start = codestream.find(b"\xff\x4f\xff\x51")
    if start < 0 or len(codestream) < start + 43:
        return None
    ssiz = codestream[start + 42]
    return (ssiz & 0x7F) + 1, bool(ssiz & 0x80)


def _jpeg2000(data: bytes) -> Any:
    return imagecodecs.jpeg2k_decode(data, numthreads=_DECODER_THREADS)


def _htj2k(data: bytes) -> Any:
    try:
        return imagecodecs.htj2k_decode(data)
    except Exception:  # noqa: BLE001 - OpenJPEG decodes the HT profiles OpenJPH rejects.
        return imagecodecs.jpeg2k_decode(data, numthreads=_DECODER_THREADS)


_IMAGECODECS_DECODERS: dict[str, Any] = {
    **dict.fromkeys(JPEG2000_SYNTAXES, _jpeg2000),
    **dict.fromkeys(HTJ2K_SYNTAXES, _htj2k),
    **dict.fromkeys(JPEG_LS_SYNTAXES, imagecodecs.jpegls_decode),
    **dict.fromkeys(JPEG_LOSSLESS_SYNTAXES, imagecodecs.ljpeg_decode),
    **dict.fromkeys(JPEG_XL_SYNTAXES, imagecodecs.jpegxl_decode),
}
