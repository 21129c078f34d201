"""Lookup tables from a Modality LUT Sequence or a VOI LUT Sequence item (PS3.3 C.11.1, C.11.2).

Each item has a LUT Descriptor (number of entries, first stored value mapped, bits per entry)
and LUT Data. The parser accepts what real files write. LUT Data may be US or OW, with 8-bit
entries packed two to a word in OW. A first value of 0 means 65536 entries, a first mapped
value may be written as US for signed data, and the bit depth may be wider than the entries use.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset

logger = logging.getLogger(__name__)


class LUTError(ValueError):
    """A LUT Sequence item that cannot be used; the message names the attribute and the value."""


@dataclass(frozen=True, eq=False)
class LookupTable:
    """A LUT per PS3.3 C.11.1.1: ``data[i]`` maps input ``first_mapped + i``.

    Inputs below ``first_mapped`` map to the first entry, inputs past the end to the last.
    ``bits`` is the output bit depth, so outputs span 0 .. 2**bits - 1. Tables compare by
    identity, so the GPU renderer uploads a table again only when it is a different table.
    """

    first_mapped: int
    data: np.ndarray
    bits: int
    explanation: str = ""

    @property
    def output_max(self) -> int:
        return (1 << self.bits) - 1

    @property
    def input_range(self) -> tuple[int, int]:
        """The first and last input values with their own entry."""
        return self.first_mapped, self.first_mapped + len(self.data) - 1


def lut_from_item(item: Dataset, *, signed_input: bool, kind: str) -> LookupTable:
    """Parse one LUT Sequence item; raise :class:`LUTError` naming the defect.

    ``signed_input`` tells whether the LUT's input values can be negative (Pixel Representation 1
    for a Modality LUT), which decides how a first mapped value written as US is read
    (PS3.3 C.11.1.1.1: the second value is US or SS like the input).
    ``kind`` ("Modality LUT" or "VOI LUT") goes into messages.
    """
    descriptor = item.get("LUTDescriptor")
    if descriptor is None or "LUTData" not in item:
        raise LUTError(f"{kind}: LUT Descriptor (0028,3002) or LUT Data (0028,3006) is missing")
    values = [int(v) for v in (descriptor if isinstance(descriptor, list | tuple) else list(descriptor))]
    if len(values) != 3:
        raise LUTError(f"{kind}: LUT Descriptor has {len(values)} values {values}, expected 3")
    # PS3.3 C.11.1.1.1: a first value of 0 means 2**16 entries.
    count = values[0] if values[0] > 0 else 65536
    first = values[1]
    if signed_input and first >= 1 << 15:
        first -= 1 << 16  # written as US: read the 16-bit pattern as signed
    declared_bits = values[2]
    data = _lut_data(item, count, declared_bits, kind)
    bits = _used_bits(data, declared_bits, kind)
    explanation = str(item.get("LUTExplanation", "") or "").strip()
    return LookupTable(first, data, bits, explanation)


def _lut_data(item: Dataset, count: int, bits: int, kind: str) -> np.ndarray:
    element = item["LUTData"]
    raw = element.value
    if raw is None or (hasattr(raw, "__len__") and len(raw) == 0):
        raise LUTError(f"{kind}: LUT Data (0028,3006) is empty")
    if isinstance(raw, bytes | bytearray):
        # OW: 16-bit words, except 8-bit entries which PS3.3 C.11.1.1.1 packs two to a word.
        if bits <= 8 and len(raw) in (count, count + 1):
            data = np.frombuffer(raw, dtype=np.uint8)[:count].astype(np.uint16)
        else:
            data = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<u2").astype(np.uint16)
    else:
        entries = list(raw) if hasattr(raw, "__iter__") else [raw]
        data = np.asarray([int(v) & 0xFFFF for v in entries], dtype=np.uint16)
    if len(data) < count:
        raise LUTError(
            f"{kind}: LUT Data has {len(data)} entries but the LUT Descriptor declares {count}; "
            "the file is truncated or the descriptor is wrong"
        )
    if len(data) > count:
        logger.warning("%s: LUT Data has %d entries, the descriptor %d; extra entries ignored",
                       kind, len(data), count)
        data = data[:count]
    if 8 <= bits < 16:
        data = data & np.uint16((1 << bits) - 1)
    return data


def _used_bits(data: np.ndarray, declared: int, kind: str) -> int:
    """The output bit depth: the declared one, unless the entries use fewer bits.

    A descriptor that declares 16 bits for entries that never exceed 4095 would show the image
    almost black if taken at its word, so the depth the entries use applies (at least 8), as
    dcmtk does with ``+Mv``.
    """
    maximum = int(data.max()) if len(data) else 0
    used = max(8, maximum.bit_length())
    if not 8 <= declared <= 16:
        logger.warning("%s: LUT Descriptor bit depth %d is outside 8..16; using %d from the data",
                       kind, declared, used)
        return used
    if used < declared:
        logger.warning("%s: LUT Descriptor declares %d bits but the entries use %d; using %d",
                       kind, declared, used, used)
        return used
    return declared


def apply_lut(lut: LookupTable, values: np.ndarray) -> np.ndarray:
    """PS3.3 C.11.1.1: index = value - first mapped, clamped to the table's ends."""
    rounded = np.floor(np.asarray(values, dtype=np.float64) + 0.5)  # as the shader rounds
    index = np.clip(rounded - lut.first_mapped, 0, len(lut.data) - 1).astype(np.int64)
    return lut.data[index].astype(np.float64)
