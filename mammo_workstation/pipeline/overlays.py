"""Overlay planes (groups 6000-601E) as boolean bitmaps placed on the image (PS3.3 C.9.2).

Each plane has Overlay Rows and Columns, an Overlay Origin (row, column; 1-based, so 1\\1 is
the top-left image pixel, and it may lie outside the image), and its bits either in Overlay
Data (60xx,3000), packed eight to a byte starting with the least significant bit (PS3.5 8.1.2),
or, retired, in the unused high bit Overlay Bit Position of the Pixel Data. A multi-frame plane
holds Number of Frames in Overlay bitmaps one after another; Image Frame Origin says which
image frame the first one belongs to.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset

logger = logging.getLogger(__name__)

OVERLAY_GROUPS = tuple(range(0x6000, 0x6020, 2))


@dataclass(frozen=True)
class OverlayPlane:
    """One overlay bitmap for one image frame.

    ``origin`` is the image position (row, column), 0-based, of the bitmap's top-left bit; it
    may be negative or past the image, and the bitmap may run past the image's edges.
    """

    group: int
    bitmap: np.ndarray  # rows x columns, bool
    origin: tuple[int, int]
    kind: str = "G"  # G graphics, R region of interest (PS3.3 C.9.2.1.1)
    label: str = ""
    description: str = ""

    def clipped(self, image_rows: int, image_columns: int) -> np.ndarray:
        """Draw the plane into an image-sized mask, dropping bits outside the image."""
        mask = np.zeros((image_rows, image_columns), dtype=bool)
        top, left = self.origin
        rows, columns = self.bitmap.shape
        source_top, source_left = max(0, -top), max(0, -left)
        target_top, target_left = max(0, top), max(0, left)
        height = min(rows - source_top, image_rows - target_top)
        width = min(columns - source_left, image_columns - target_left)
        if height > 0 and width > 0:
            mask[target_top:target_top + height, target_left:target_left + width] = self.bitmap[
                source_top:source_top + height, source_left:source_left + width]
        return mask


def overlay_planes(ds: Dataset, frame: int = 0) -> list[OverlayPlane]:
    """Read every overlay plane of ``ds`` that applies to image frame ``frame`` (0-based).

    A plane that cannot be read is logged and skipped, so one bad plane hides no other.
    """
    planes = []
    for group in OVERLAY_GROUPS:
        if (group, 0x0010) not in ds:
            continue
        try:
            plane = _plane(ds, group, frame)
        except ValueError as error:
            logger.warning("Skipped overlay group %04X: %s", group, error)
            continue
        if plane is not None:
            planes.append(plane)
    return planes


def _value(ds: Dataset, group: int, element: int, default: object = None) -> object:
    data_element = ds.get((group, element))
    return default if data_element is None or data_element.value in (None, "") else data_element.value


def _plane(ds: Dataset, group: int, frame: int) -> OverlayPlane | None:
    rows = int(_value(ds, group, 0x0010, 0))  # type: ignore[call-overload]
    columns = int(_value(ds, group, 0x0011, 0))  # type: ignore[call-overload]
    if rows <= 0 or columns <= 0:
        raise ValueError(f"Overlay Rows/Columns {rows} x {columns} is empty")
    origin = _value(ds, group, 0x0050, [1, 1])
    origin_row, origin_column = (int(v) for v in origin)  # type: ignore[attr-defined]
    frames = int(_value(ds, group, 0x0015, 1))  # type: ignore[call-overload]
    first_frame = int(_value(ds, group, 0x0051, 1))  # type: ignore[call-overload]
    index = frame - (first_frame - 1)
    if not 0 <= index < max(frames, 1):
        return None
    bitmap = _bitmap(ds, group, rows, columns, index)
    return OverlayPlane(
        group,
        bitmap,
        (origin_row - 1, origin_column - 1),
        str(_value(ds, group, 0x0040, "G")).strip().upper() or "G",
        str(_value(ds, group, 0x1500, "")).strip(),
        str(_value(ds, group, 0x0022, "")).strip(),
    )


def _bitmap(ds: Dataset, group: int, rows: int, columns: int, index: int) -> np.ndarray:
    data = _value(ds, group, 0x3000)
    if isinstance(data, bytes | bytearray):
        count = rows * columns
        bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little")
        start = index * count
        if len(bits) < start + count:
            raise ValueError(
            f"Overlay Data is too short: {len(bits)} bits, frame {index + 1} needs {start + count}"
        )
        return bits[start:start + count].reshape(rows, columns).astype(bool)
    return _embedded_bitmap(ds, group, rows, columns)


def _embedded_bitmap(ds: Dataset, group: int, rows: int, columns: int) -> np.ndarray:
    """Retired overlay in an unused high bit of uncompressed Pixel Data (PS3.5 8.1.2 of 2004)."""
    bit = int(_value(ds, group, 0x0102, 0))  # type: ignore[call-overload]
    allocated = int(ds.get("BitsAllocated", 16) or 16)
    stored = int(ds.get("BitsStored", allocated) or allocated)
    if bit < stored or bit >= allocated:
        raise ValueError(f"no Overlay Data and Overlay Bit Position {bit} is not an unused bit")
    if ds.file_meta.TransferSyntaxUID.is_compressed or "PixelData" not in ds:
        raise ValueError("an overlay in the Pixel Data's high bits needs uncompressed Pixel Data")
    if (rows, columns) != (int(ds.Rows), int(ds.Columns)) or allocated != 16:
        raise ValueError("an overlay in the Pixel Data's high bits must match 16-bit image size")
    pixels = np.frombuffer(ds.PixelData, dtype="<u2", count=rows * columns).reshape(rows, columns)
    return ((pixels >> bit) & 1).astype(bool)
