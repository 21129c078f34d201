"""Run dcmtk's dcmj2pnm and read its 8-bit PGM output, for the agreement tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

DCMJ2PNM = shutil.which("dcmj2pnm")


def dcmj2pnm(path: Path, flags: tuple[str, ...], out: Path) -> np.ndarray:
    """Run dcmj2pnm to an 8-bit binary PGM and read it back."""
    assert DCMJ2PNM is not None
    result = subprocess.run([DCMJ2PNM, "+op", *flags, str(path), str(out)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"dcmj2pnm {' '.join(flags)} {path.name} failed: {result.stderr}"
    return read_pgm(out.read_bytes())


def read_pgm(data: bytes) -> np.ndarray:
    """An 8-bit binary PGM (P5) as rows x columns."""
    fields: list[bytes] = []
    position = 0
    while len(fields) < 4:
        while data[position:position + 1].isspace():
            position += 1
        if data[position:position + 1] == b"#":
            position = data.index(b"\n", position) + 1
            continue
        end = position
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[position:end])
        position = end
    assert fields[0] == b"P5", f"not a binary PGM: {fields[0]!r}"
    width, height, maximum = (int(f) for f in fields[1:])
    assert maximum == 255, f"expected an 8-bit PGM, maximum is {maximum}"
    pixels = np.frombuffer(data, dtype=np.uint8, count=width * height, offset=position + 1)
    return pixels.reshape(height, width).astype(np.int16)
