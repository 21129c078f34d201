"""Decoded stored values kept on disk, so that an image opened again skips its slow decoder.

Each frame is one file under ``cache_dir() / "pixels"``, named by SOP Instance UID and frame
number. By default the stored values are kept raw: four 4500 x 2900 mammograms read back in
20 to 50 ms on two cores from the page cache (2026-12, ``benchmarks``). Lossless HTJ2K
(OpenJPH through imagecodecs) takes a third of the space but about 50 ms an image to decode on
an idle core, and several times that on a busy one. Every file starts with a small JSON header
giving the encoding, shape, dtype, Bits Stored and signedness, so a file that does not match
the dataset it is read for is ignored.

Files are written under a temporary name and renamed, so a reader never sees half a file.
This module works without Qt and uses none of the other modules of this package.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import struct
import tempfile
import uuid
from io import BufferedReader
from pathlib import Path

import numpy as np

from mammo_workstation.dicom.decode import DecodedFrame
from mammo_workstation.settings import cache_dir

logger = logging.getLogger(__name__)

_MAGIC = b"MWPX1\n"
_HEADER_LENGTH = struct.Struct("<I")
_UID_PATTERN = re.compile(r"^[0-9]+(\.[0-9]+)*$")
DEFAULT_QUOTA_BYTES = 8 << 30  # about 75 four-view exams of 4500 x 2900 images, raw


def default_root() -> Path:
    return cache_dir() / "pixels"


def file_name(sop_instance_uid: str, frame: int) -> str:
    """Return the file name of a frame; a malformed UID never escapes the cache folder."""
    uid = sop_instance_uid.strip()
    if not (_UID_PATTERN.match(uid) and len(uid) <= 64):
        uid = "x" + uuid.uuid5(uuid.NAMESPACE_OID, uid).hex
    return f"{uid}.{frame}.px"


class PixelCache:
    """Lossless copies of decoded frames keyed by SOP Instance UID and frame number (0-based).

    ``quota_bytes`` bounds the folder's size: after each write, the least recently read files
    are deleted until the folder fits. Reading and writing are safe from several threads and
    processes; the last complete write of a frame wins.
    """

    def __init__(self, root: Path | None = None, quota_bytes: int = DEFAULT_QUOTA_BYTES,
                 compression: str = "raw") -> None:
        if compression not in ("raw", "htj2k"):
            raise ValueError(f"invalid pixel cache compression {compression!r}; expected 'raw' or 'htj2k'")
        self.root = root if root is not None else default_root()
        self.quota_bytes = quota_bytes
        self.compression = compression  # for new files; both kinds are read

    def path_of(self, sop_instance_uid: str, frame: int = 0) -> Path:
        return self.root / file_name(sop_instance_uid, frame)

    def contains(self, sop_instance_uid: str, frame: int = 0) -> bool:
        return self.path_of(sop_instance_uid, frame).is_file()

    def load(self, sop_instance_uid: str, frame: int = 0,
             expected_shape: tuple[int, ...] | None = None) -> DecodedFrame | None:
        """Return the cached frame, or None when it is missing, unreadable or of another shape."""
        path = self.path_of(sop_instance_uid, frame)
        try:
            with path.open("rb") as stream:
                decoded = _read(stream)
        except FileNotFoundError:
            return None
        except OSError as error:
            logger.warning("Cannot read the cached pixels %s (%s); decoding the file instead", path, error)
            return None
        except (ValueError, KeyError, RuntimeError) as error:
            logger.warning("Ignoring the invalid cached pixels %s (%s)", path, error)
            return None
        if expected_shape is not None and decoded.pixels.shape[:2] != expected_shape[:2]:
            logger.warning("Ignoring the cached pixels %s: shape %s, the dataset has %s",
                           path, decoded.pixels.shape, expected_shape)
            return None
        _touch(path)
        return decoded

    def store(self, sop_instance_uid: str, frame: int, decoded: DecodedFrame) -> Path:
        """Write ``decoded`` atomically and return its path; raises OSError when the disk fails."""
        path = self.path_of(sop_instance_uid, frame)
        self.root.mkdir(parents=True, exist_ok=True)
        payload = _pack(decoded, self.compression)
        descriptor, temporary = tempfile.mkstemp(dir=self.root, prefix=".incoming-", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as stream:
                stream.write(payload)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self.prune()
        return path

    def prune(self) -> int:
        """Delete the least recently used files until the folder fits the quota; return bytes freed."""
        try:
            entries = [(entry.stat(), entry) for entry in os.scandir(self.root)
                       if entry.name.endswith(".px")]
        except FileNotFoundError:
            return 0
        total = sum(stat.st_size for stat, _ in entries)
        freed = 0
        for stat, entry in sorted(entries, key=lambda item: item[0].st_mtime):
            if total - freed <= self.quota_bytes:
                break
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                continue
            freed += stat.st_size
        if freed:
            logger.info("Pixel cache over its quota of %d bytes: deleted %d bytes", self.quota_bytes, freed)
        return freed


def _touch(path: Path) -> None:
    """Mark a file as recently used; the quota deletes by modification time."""
    with contextlib.suppress(OSError):  # A read-only cache folder still serves reads.
        os.utime(path)


def _pack(decoded: DecodedFrame, compression: str) -> bytes:
    pixels = np.ascontiguousarray(decoded.pixels)
    encoding = "htj2k" if compression == "htj2k" and _htj2k_suits(pixels) else "raw"
    if encoding == "htj2k":
        import imagecodecs

        body = bytes(imagecodecs.htj2k_encode(pixels))
    else:
        body = pixels.tobytes()
    header = json.dumps({
        "encoding": encoding,
        "shape": list(pixels.shape),
        "dtype": pixels.dtype.str,
        "bits_stored": decoded.bits_stored,
        "signed": decoded.signed,
        "photometric": decoded.photometric,
        "warnings": decoded.warnings,
    }).encode()
    return _MAGIC + _HEADER_LENGTH.pack(len(header)) + header + body


def _htj2k_suits(pixels: np.ndarray) -> bool:
    """HTJ2K in imagecodecs 2026.3 takes 2-D integer samples of up to 16 bits."""
    return pixels.ndim == 2 and pixels.dtype.kind in "iu" and pixels.dtype.itemsize <= 2


def _read(stream: BufferedReader) -> DecodedFrame:
    if stream.read(len(_MAGIC)) != _MAGIC:
        raise ValueError("not a pixel cache file")
    (length,) = _HEADER_LENGTH.unpack(stream.read(_HEADER_LENGTH.size))
    header = json.loads(stream.read(length))
    shape = tuple(int(n) for n in header["shape"])
    dtype = np.dtype(header["dtype"])
    if header["encoding"] == "htj2k":
        import imagecodecs

        pixels = np.asarray(imagecodecs.htj2k_decode(stream.read()))
    elif header["encoding"] == "raw":
        # Read straight into the array: one copy from the page cache, and the array is writable.
        pixels = np.empty(shape, dtype=dtype)
        if stream.readinto(pixels.data.cast("B")) != pixels.nbytes:
            raise ValueError("the file is truncated")
    else:
        raise ValueError(f"unknown encoding {header['encoding']!r}; expected 'raw' or 'htj2k'")
    if pixels.shape != shape or pixels.dtype != dtype:
        raise ValueError(f"decoded {pixels.shape} {pixels.dtype}, expected {shape} {dtype} from the header")
    return DecodedFrame(pixels, int(header["bits_stored"]), bool(header["signed"]),
                        str(header["photometric"]), list(header["warnings"]))
