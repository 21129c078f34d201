"""Reduced-resolution JPEG 2000 decoding through libopenjp2, for a quick first paint.

A JPEG 2000 codestream stores its image as a wavelet pyramid (ISO 15444-1 annex F). So
libopenjp2 can stop ``reduce`` levels short of full resolution and return an image
``2**reduce`` times smaller in each direction, decoding only the code-blocks of those levels.

Neither imagecodecs (2026.3) nor pylibjpeg-openjpeg (2.6) exposes the reduce factor, so this
module calls libopenjp2 through ctypes. It loads the copy that the imagecodecs wheel ships and
falls back to the system library (Debian libopenjp2-7), so it adds no dependency; without
either, callers decode at full resolution. Four 4500 x 2900 images took 0.19 s at quarter
resolution, 0.68 s at half and 2.45 s at full resolution on two cores, the same with the
system libopenjp2 2.5.0; imagecodecs' own full decode took 2.45 s too (2026-12, two-core AMD
EPYC). The module imports neither PySide6 nor VTK.

NOTE: only the Linux wheel layout was run; the Windows and macOS paths follow the layouts of
delvewheel and delocate.

The lower levels of a lossless (5/3 wavelet) codestream are not stored values: near sharp
edges such as the skin line they can overshoot the stored range. :func:`decode_reduced`
clamps them to the codestream's range, so a value never wraps around (a wrap would show -5
as 65531, a white pixel in the black background).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
import logging
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset
from pydicom.encaps import get_frame

from mammo_workstation.dicom.decode import (
    HTJ2K_SYNTAXES,
    JPEG2000_SYNTAXES,
    DecodedFrame,
    DecodeError,
)

logger = logging.getLogger(__name__)

_OPJ_CODEC_J2K = 0
_OPJ_CODEC_JP2 = 2
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
_DPARAMETERS_BYTES = 1 << 16  # larger than opj_dparameters_t (about 20 kB in 2.5)


class _ImageComponent(ctypes.Structure):
    """opj_image_comp_t of openjpeg.h 2.3 to 2.5."""

    _fields_ = [
        ("dx", ctypes.c_uint32),
        ("dy", ctypes.c_uint32),
        ("w", ctypes.c_uint32),
        ("h", ctypes.c_uint32),
        ("x0", ctypes.c_uint32),
        ("y0", ctypes.c_uint32),
        ("prec", ctypes.c_uint32),
        ("bpp", ctypes.c_uint32),
        ("sgnd", ctypes.c_uint32),
        ("resno_decoded", ctypes.c_uint32),
        ("factor", ctypes.c_uint32),
        ("data", ctypes.POINTER(ctypes.c_int32)),
        ("alpha", ctypes.c_uint16),
    ]


class _Image(ctypes.Structure):
    """opj_image_t of openjpeg.h 2.3 to 2.5."""

    _fields_ = [
        ("x0", ctypes.c_uint32),
        ("y0", ctypes.c_uint32),
        ("x1", ctypes.c_uint32),
        ("y1", ctypes.c_uint32),
        ("numcomps", ctypes.c_uint32),
        ("color_space", ctypes.c_int),
        ("comps", ctypes.POINTER(_ImageComponent)),
        ("icc_profile_buf", ctypes.c_void_p),
        ("icc_profile_len", ctypes.c_uint32),
    ]


_READ_FN = ctypes.CFUNCTYPE(ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)
_SKIP_FN = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p)
_SEEK_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int64, ctypes.c_void_p)
_MESSAGE_FN = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_void_p)
_OPJ_READ_ERROR = ctypes.c_size_t(-1).value


class OpenJPEGUnavailableError(RuntimeError):
    """No libopenjp2 could be loaded; callers decode at full resolution instead."""


@dataclass(frozen=True)
class ReducedFrame:
    """A frame decoded ``reduce`` levels below full resolution, with the full size."""

    frame: DecodedFrame
    reduce: int
    full_size: tuple[int, int]  # (columns, rows) at full resolution


def library_candidates() -> list[Path | str]:
    """Places libopenjp2 is looked for: the imagecodecs wheel's copy, then the system's."""
    candidates: list[Path | str] = []
    spec = importlib.util.find_spec("imagecodecs")
    if spec is not None and spec.origin:
        package = Path(spec.origin).resolve().parent
        # Where auditwheel (Linux), delvewheel (Windows) and delocate (macOS) put bundled libraries.
        libs = package.parent / "imagecodecs.libs"
        candidates += sorted(libs.glob("libopenjp2*.so*")) + sorted(libs.glob("openjp2*.dll"))
        candidates += sorted((package / ".dylibs").glob("libopenjp2*.dylib"))
    system = ctypes.util.find_library("openjp2")
    if system:
        candidates.append(system)
    return candidates


_library: ctypes.CDLL | None = None
_library_lock = threading.Lock()


def openjpeg() -> ctypes.CDLL:
    """The loaded libopenjp2 with its prototypes; raises OpenJPEGUnavailableError."""
    global _library
    with _library_lock:
        if _library is None:
            _library = _load_library()
        return _library


def _load_library() -> ctypes.CDLL:
    errors = []
    for candidate in library_candidates():
        try:
            library = ctypes.CDLL(str(candidate))
            _declare(library)
        except (OSError, AttributeError) as error:
            errors.append(f"{candidate}: {error}")
            continue
        logger.debug("Using libopenjp2 %s from %s", library.opj_version().decode(), candidate)
        return library
    raise OpenJPEGUnavailableError(
        "libopenjp2 not found (looked in the imagecodecs wheel and the system library path"
        + (": " + "; ".join(errors) if errors else "")
        + "); install imagecodecs or the system package libopenjp2-7"
    )


def _declare(library: ctypes.CDLL) -> None:
    void_p, uint32 = ctypes.c_void_p, ctypes.c_uint32
    prototypes: dict[str, tuple[object, list[object]]] = {
        "opj_version": (ctypes.c_char_p, []),
        "opj_create_decompress": (void_p, [ctypes.c_int]),
        "opj_set_default_decoder_parameters": (None, [void_p]),
        "opj_setup_decoder": (ctypes.c_int, [void_p, void_p]),
        "opj_codec_set_threads": (ctypes.c_int, [void_p, ctypes.c_int]),
        "opj_set_error_handler": (ctypes.c_int, [void_p, _MESSAGE_FN, void_p]),
        "opj_stream_create": (void_p, [ctypes.c_size_t, ctypes.c_int]),
        "opj_stream_set_read_function": (None, [void_p, _READ_FN]),
        "opj_stream_set_skip_function": (None, [void_p, _SKIP_FN]),
        "opj_stream_set_seek_function": (None, [void_p, _SEEK_FN]),
        "opj_stream_set_user_data": (None, [void_p, void_p, void_p]),
        "opj_stream_set_user_data_length": (None, [void_p, ctypes.c_uint64]),
        "opj_read_header": (ctypes.c_int, [void_p, void_p, ctypes.POINTER(ctypes.POINTER(_Image))]),
        "opj_set_decoded_resolution_factor": (ctypes.c_int, [void_p, uint32]),
        "opj_decode": (ctypes.c_int, [void_p, void_p, ctypes.POINTER(_Image)]),
        "opj_end_decompress": (ctypes.c_int, [void_p, void_p]),
        "opj_stream_destroy": (None, [void_p]),
        "opj_destroy_codec": (None, [void_p]),
        "opj_image_destroy": (None, [ctypes.POINTER(_Image)]),
    }
    for name, (restype, argtypes) in prototypes.items():
        function = getattr(library, name)
        function.restype = restype
        function.argtypes = argtypes


class _MemoryStream:
    """An opj_stream_t reading from a bytes object through ctypes callbacks."""

    def __init__(self, library: ctypes.CDLL, data: bytes) -> None:
        self._data = data
        self._position = 0
        # The callbacks must outlive the stream, so they are attributes of this object.
        self._read = _READ_FN(self._on_read)
        self._skip = _SKIP_FN(self._on_skip)
        self._seek = _SEEK_FN(self._on_seek)
        self.handle = library.opj_stream_create(max(len(data), 1), 1)
        if not self.handle:
            raise MemoryError("opj_stream_create failed")
        library.opj_stream_set_read_function(self.handle, self._read)
        library.opj_stream_set_skip_function(self.handle, self._skip)
        library.opj_stream_set_seek_function(self.handle, self._seek)
        library.opj_stream_set_user_data_length(self.handle, len(data))

    def _on_read(self, buffer: int, size: int, _user: int) -> int:
        count = min(size, len(self._data) - self._position)
        if count <= 0:
            return _OPJ_READ_ERROR
        ctypes.memmove(buffer, self._data[self._position : self._position + count], count)
        self._position += count
        return count

    def _on_skip(self, offset: int, _user: int) -> int:
        start = self._position
        self._position = min(max(self._position + offset, 0), len(self._data))
        return self._position - start

    def _on_seek(self, offset: int, _user: int) -> int:
        if not 0 <= offset <= len(self._data):
            return 0
        self._position = offset
        return 1


def reduced_size(size: tuple[int, int], reduce: int) -> tuple[int, int]:
    """(columns, rows) of an image of ``size`` decoded ``reduce`` levels down (ISO 15444-1 B.5)."""
    step = 1 << reduce
    return -(-size[0] // step), -(-size[1] // step)


def choose_reduce(full_size: tuple[int, int], viewport_size: tuple[int, int], levels: int = 5) -> int:
    """The most levels to drop while an image fitted into ``viewport_size`` stays sharp.

    Fitting a W x H image into a V x U viewport shows it at min(V / W, U / H) screen pixels per
    image pixel; dropping r levels keeps 2**-r pixels per image pixel, so r may grow while
    2**r <= max(W / V, H / U). Both sizes are (columns, rows); the result is never more than
    ``levels``, the number of wavelet decompositions in the codestream.
    """
    width, height = full_size
    viewport_width, viewport_height = max(viewport_size[0], 1), max(viewport_size[1], 1)
    if width <= 0 or height <= 0:
        return 0
    ratio = max(width / viewport_width, height / viewport_height)
    if ratio < 2.0:
        return 0
    return min(levels, math.floor(math.log2(ratio)))


def decode_jpeg2000(
    codestream: bytes, reduce: int = 0, threads: int | None = None
) -> tuple[np.ndarray, int, bool]:
    """Decode the first component of a J2K or JP2 stream ``reduce`` levels below full size.

    Returns the samples as int32, their precision in bits and whether they are signed.
    Raises DecodeError when libopenjp2 rejects the data and OpenJPEGUnavailableError without it.
    """
    library = openjpeg()
    codec_format = _OPJ_CODEC_JP2 if codestream.startswith(_JP2_SIGNATURE) else _OPJ_CODEC_J2K
    codec = library.opj_create_decompress(codec_format)
    messages: list[str] = []
    on_error = _MESSAGE_FN(lambda text, _user: messages.append(text.decode(errors="replace").strip()))
    stream = _MemoryStream(library, codestream)
    image = ctypes.POINTER(_Image)()
    try:
        library.opj_set_error_handler(codec, on_error, None)
        parameters = ctypes.create_string_buffer(_DPARAMETERS_BYTES)
        library.opj_set_default_decoder_parameters(parameters)
        if not library.opj_setup_decoder(codec, parameters):
            raise DecodeError("libopenjp2 rejected the decoder parameters")
        library.opj_codec_set_threads(codec, threads or os.cpu_count() or 1)
        if not library.opj_read_header(stream.handle, codec, ctypes.byref(image)):
            raise DecodeError("invalid JPEG 2000 header: " + "; ".join(messages))
        if reduce and not library.opj_set_decoded_resolution_factor(codec, reduce):
            raise DecodeError(f"cannot decode {reduce} levels down: " + "; ".join(messages))
        if not (library.opj_decode(codec, stream.handle, image)
                and library.opj_end_decompress(codec, stream.handle)):
            raise DecodeError("JPEG 2000 decoding failed: " + "; ".join(messages))
        return _first_component(image.contents)
    finally:
        if image:
            library.opj_image_destroy(image)
        library.opj_stream_destroy(stream.handle)
        library.opj_destroy_codec(codec)


def _first_component(image: _Image) -> tuple[np.ndarray, int, bool]:
    if image.numcomps < 1:
        raise DecodeError("the JPEG 2000 image has no components")
    component = image.comps[0]
    count = int(component.w) * int(component.h)
    if not component.data or count == 0:
        raise DecodeError("libopenjp2 returned no samples")
    view = np.ctypeslib.as_array(component.data, shape=(int(component.h), int(component.w)))
    return view.copy(), int(component.prec), bool(component.sgnd)


def stored_range(bits_stored: int, signed: bool) -> tuple[int, int]:
    """The smallest and largest stored value of ``bits_stored`` bits (PS3.5 8.1.1)."""
    if signed:
        return -(1 << (bits_stored - 1)), (1 << (bits_stored - 1)) - 1
    return 0, (1 << bits_stored) - 1


def clamp_to_stored(samples: np.ndarray, bits_stored: int, signed: bool) -> np.ndarray:
    """Clamp decoded samples into the stored range and narrow them to 16 bits or fewer.

    Reduced-resolution levels of a lossless codestream may step outside the stored range;
    clamping keeps a dark pixel dark where a wrap-around would turn it white.
    """
    low, high = stored_range(bits_stored, signed)
    itemsize = 4
    if bits_stored <= 16:
        itemsize = 2 if bits_stored > 8 else 1
    dtype = np.dtype(f"{'i' if signed else 'u'}{itemsize}")
    return np.clip(samples, low, high).astype(dtype)


def _stored_values(
    ds: Dataset, samples: np.ndarray, precision: int, codestream_signed: bool
) -> tuple[np.ndarray, int, bool]:
    """Clamp to the codestream's range, then read the sign as decode_frame does.

    PS3.5 8.2.4: the codestream's precision wins over Bits Stored. An unsigned codestream under
    Pixel Representation 1 holds two's complement values, so the sign is extended afterwards.
    """
    pixels = clamp_to_stored(samples, precision, codestream_signed)
    header_signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
    if header_signed and not codestream_signed:
        width = 8 * pixels.dtype.itemsize
        shift = width - precision
        pixels = (pixels.view(np.dtype(f"i{pixels.dtype.itemsize}")) << shift) >> shift
    return pixels, precision, header_signed or codestream_signed


def can_reduce(ds: Dataset) -> bool:
    """Whether ``ds`` is grayscale JPEG 2000 or HTJ2K, which :func:`decode_reduced` takes."""
    syntax = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "") or "")
    grayscale = int(ds.get("SamplesPerPixel", 1) or 1) == 1
    return grayscale and syntax in JPEG2000_SYNTAXES | HTJ2K_SYNTAXES


def decode_reduced(ds: Dataset, frame: int, reduce: int, *, threads: int | None = None,
                   name: str = "") -> ReducedFrame:
    """Decode frame ``frame`` (0-based) of a JPEG 2000 ``ds`` ``reduce`` levels below full size.

    The samples are clamped to the stored range of the codestream (which wins over the header,
    PS3.5 8.2.4). Raises DecodeError naming the file when the data cannot be decoded, and
    OpenJPEGUnavailableError when libopenjp2 is missing.
    """
    name = name or Path(str(getattr(ds, "filename", "") or "dataset")).name
    if not can_reduce(ds):
        raise DecodeError(f"{name}: reduced-resolution decoding needs grayscale JPEG 2000, not "
                          f"{ds.file_meta.TransferSyntaxUID.name} with Samples per Pixel "
                          f"{ds.get('SamplesPerPixel', 1)}")
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    try:
        codestream = get_frame(ds.PixelData, frame, number_of_frames=frames)
    except (ValueError, TypeError, IndexError) as error:
        raise DecodeError(f"{name}: cannot find frame {frame + 1} in the Pixel Data ({error})") from error
    try:
        samples, precision, signed = decode_jpeg2000(codestream, reduce, threads)
    except DecodeError as error:
        raise DecodeError(f"{name}: {error}") from error
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    pixels, bits_stored, signed = _stored_values(ds, samples, precision, signed)
    full_size = (int(ds.Columns), int(ds.Rows))
    return ReducedFrame(DecodedFrame(pixels, bits_stored, signed, photometric), reduce, full_size)


def box_reduce(pixels: np.ndarray, levels: int) -> np.ndarray:
    """Average 2 x 2 blocks ``levels`` times, rounding half up, as a mipmap level is built.

    Level ``levels`` pixel (i, j) covers full-resolution pixels [i, i + 1) * 2**levels in each
    direction; an odd last row or column is dropped at each step, so the result is
    floor(size / 2**levels). Keeps the dtype; works on 2-D integer samples of up to 16 bits.
    """
    reduced = pixels
    for _ in range(levels):
        rows, columns = reduced.shape[0] // 2 * 2, reduced.shape[1] // 2 * 2
        total = reduced[0:rows:2, 0:columns:2].astype(np.int32)
        total += reduced[1:rows:2, 0:columns:2]
        total += reduced[0:rows:2, 1:columns:2]
        total += reduced[1:rows:2, 1:columns:2]
        total += 2
        total >>= 2  # floor division by 4, also for negative sums
        reduced = total.astype(pixels.dtype)
    return reduced
