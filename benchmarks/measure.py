"""Helpers shared by the benchmarks: child processes, medians and peak memory."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULT_PREFIX = "BENCHMARK-RESULT "


class BenchmarkError(RuntimeError):
    """A child process failed or printed no result."""


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def peak_rss_bytes() -> int:
    """Peak resident memory of this process so far (Linux reports ru_maxrss in KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(kib) * (1 if sys.platform == "darwin" else 1024)


def emit_result(result: dict[str, object]) -> None:
    """Print a child's result as the one line the parent reads."""
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def run_child(module: str, arguments: Sequence[str], env: dict[str, str] | None = None,
              timeout: float = 600.0) -> dict[str, object]:
    """Run ``python -m module arguments`` in a fresh process and return its result line.

    The child's start time (CLOCK_MONOTONIC, shared by all processes on Linux) is passed in
    ``MAMMO_BENCHMARK_SPAWNED``, so a child can measure from process start.
    """
    environment = {**os.environ, **(env or {})}
    environment["MAMMO_BENCHMARK_SPAWNED"] = repr(time.monotonic())
    completed = subprocess.run(
        [sys.executable, "-m", module, *arguments],
        cwd=REPO, env=environment, capture_output=True, text=True, timeout=timeout, check=False,
    )
    for line in reversed(completed.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return dict(json.loads(line[len(RESULT_PREFIX):]))
    raise BenchmarkError(
        f"python -m {module} {' '.join(arguments)} exited with {completed.returncode} and no "
        f"result; its error output ends with:\n{completed.stderr[-3000:]}"
    )


def spawned_at() -> float:
    """The monotonic time at which the parent started this process, or now."""
    return float(os.environ.get("MAMMO_BENCHMARK_SPAWNED", time.monotonic()))
