"""The naive baseline: serial pydicom ``pixel_array``, ``apply_voi_lut`` and 8-bit conversion.

This is what a short script written from pydicom's documentation does, with pydicom's default
decoders (pylibjpeg and friends, as installed). Run as a child process, so the first decode
pays for its imports as the application does:

    python -m benchmarks.naive FILE... [--wl-frames N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pydicom
from pydicom.pixels import apply_voi_lut

from benchmarks.measure import emit_result, peak_rss_bytes


def to_8bit(ds: pydicom.Dataset, values: np.ndarray) -> np.ndarray:
    """Scale VOI output to 0-255 over the range a window maps to (PS3.3 C.11.2.1.2)."""
    bits = int(ds.get("BitsStored", 16))
    signed = int(ds.get("PixelRepresentation", 0)) == 1
    low = -(1 << (bits - 1)) if signed else 0
    high = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
    scaled = (values.astype(np.float64) - low) * (255.0 / (high - low))
    return np.clip(scaled, 0, 255).astype(np.uint8)


def open_naively(path: Path) -> tuple[pydicom.Dataset, np.ndarray, np.ndarray]:
    ds = pydicom.dcmread(path)
    stored = ds.pixel_array
    return ds, stored, to_8bit(ds, apply_voi_lut(stored, ds))


def window_frames(ds: pydicom.Dataset, stored: np.ndarray, count: int) -> list[float]:
    """Time ``count`` window/level changes: each one applies the VOI to the whole image again."""
    times = []
    center = float(np.atleast_1d(ds.get("WindowCenter", 2048))[0])
    width = float(np.atleast_1d(ds.get("WindowWidth", 4096))[0])
    for step in range(count):
        ds.WindowCenter = center + step * 10.0
        ds.WindowWidth = width + step * 10.0
        start = time.perf_counter()
        to_8bit(ds, apply_voi_lut(stored, ds))
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--wl-frames", type=int, default=0,
                        help="window/level changes to time on the first file afterwards")
    args = parser.parse_args()
    start = time.perf_counter()
    opened = [open_naively(path) for path in args.files]
    seconds = time.perf_counter() - start
    result: dict[str, object] = {"seconds": seconds, "peak_rss_bytes": peak_rss_bytes()}
    if args.wl_frames:
        ds, stored, _ = opened[0]
        result["wl_frame_seconds"] = window_frames(ds, stored, args.wl_frames)
    emit_result(result)


if __name__ == "__main__":
    main()
