"""Decode time per codec: the product's decoder against pydicom's default, in one process.

    python -m benchmarks.decoders NAME=FILE... [--repeat N]

Each file is decoded once by each decoder before timing, so imports and first-touch memory
are not counted, then ``--repeat`` times each, alternating. The two results must be equal,
otherwise the run fails: a fast decoder that changes stored values is no win.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pydicom

from benchmarks.measure import emit_result, median
from mammo_workstation.dicom.decode import decode_frame


def ours(ds: pydicom.Dataset) -> np.ndarray:
    return decode_frame(ds, 0).pixels


def pydicom_default(ds: pydicom.Dataset) -> np.ndarray:
    return ds.pixel_array


def time_file(path: Path, repeat: int) -> dict[str, object]:
    ds = pydicom.dcmread(path)
    reference, candidate = pydicom_default(ds), ours(ds)
    if not np.array_equal(reference, candidate):
        raise SystemExit(f"{path.name}: the product's decoder and pydicom disagree")
    times: dict[str, list[float]] = {"ours": [], "pydicom": []}
    for _ in range(repeat):
        for name, decoder in (("ours", ours), ("pydicom", pydicom_default)):
            fresh = pydicom.dcmread(path)  # pydicom caches pixel_array on the dataset
            start = time.perf_counter()
            decoder(fresh)
            times[name].append(time.perf_counter() - start)
    return {
        "transfer_syntax": ds.file_meta.TransferSyntaxUID.name,
        "size": [int(ds.Columns), int(ds.Rows)],
        "ours": median(times["ours"]),
        "pydicom": median(times["pydicom"]),
        "runs": repeat,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", help="NAME=PATH pairs")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    results = {}
    for pair in args.files:
        name, _, path = pair.partition("=")
        results[name] = time_file(Path(path), args.repeat)
    emit_result(results)


if __name__ == "__main__":
    main()
