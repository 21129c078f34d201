"""Run every benchmark, print the table and optionally write the figures as JSON.

Each figure is compared with a naive baseline measured in the same run, as the ratio
baseline / ours, so a busy or slow machine changes both sides alike. The runs are interleaved
(baseline, cold open, warm open, bare window, our window, then again), and each figure is the
median of its runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.data import Exam, codec_files, demo_exam, small_exam
from benchmarks.measure import median, run_child

GIB = 1 << 30


@dataclass(frozen=True)
class Figure:
    """One benchmark figure: ours, the baseline, and the target it is judged by."""

    name: str
    value: float
    unit: str
    baseline: float
    ratio: float  # baseline / ours: above 1 means faster (or smaller) than the baseline
    target: str
    met: bool | None  # None: no target
    runs: int

    def as_json(self) -> dict[str, object]:
        return {"value": self.value, "unit": self.unit, "baseline": self.baseline,
                "ratio": self.ratio, "target": self.target, "met": self.met, "runs": self.runs}


@dataclass
class Settings:
    exam: Exam
    rounds: int
    events: int
    decode_repeat: int
    crop: int | None
    size: str
    work: Path


def _ratio(baseline: float, ours: float) -> float:
    return baseline / ours if ours > 0 else float("inf")


def _fresh_cache(settings: Settings) -> Path:
    folder = settings.work / "cache" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    return folder


def _open_rounds(settings: Settings, log: Callable[[str], None]) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {key: [] for key in
                                       ("naive", "first_paint", "full_resolution", "warm_open",
                                        "bare", "startup", "wl_naive")}
    files = [str(path) for path in settings.exam.files("current")]
    folder = str(settings.exam.current)
    for round_index in range(settings.rounds):
        log(f"round {round_index + 1} of {settings.rounds}: naive open, cold open, warm open, startup")
        wl_frames = ["--wl-frames", "20"] if round_index == 0 else []
        naive = run_child("benchmarks.naive", files + wl_frames)
        samples["naive"].append(float(naive["seconds"]))  # type: ignore[arg-type]
        if wl_frames:
            samples["wl_naive"] = [float(t) for t in naive["wl_frame_seconds"]]  # type: ignore[attr-defined]
        cache = _fresh_cache(settings)
        env = {"MAMMO_WORKSTATION_CACHE_DIR": str(cache)}
        cold = run_child("benchmarks.app_probe", ["open", folder, "--size", settings.size], env)
        samples["first_paint"].append(float(cold["first_paint"]))  # type: ignore[arg-type]
        samples["full_resolution"].append(float(cold["full_resolution"]))  # type: ignore[arg-type]
        warm = run_child("benchmarks.app_probe", ["open", folder, "--size", settings.size], env)
        samples["warm_open"].append(float(warm["full_resolution"]))  # type: ignore[arg-type]
        shutil.rmtree(cache, ignore_errors=True)
        bare = run_child("benchmarks.app_probe", ["bare", "--size", settings.size])
        samples["bare"].append(float(bare["seconds"]))  # type: ignore[arg-type]
        ours = run_child("benchmarks.app_probe", ["startup", "--size", settings.size])
        samples["startup"].append(float(ours["seconds"]))  # type: ignore[arg-type]
    return samples


def _open_figures(samples: dict[str, list[float]]) -> list[Figure]:
    naive = median(samples["naive"])
    runs = len(samples["naive"])
    figures = []
    for name, factor in (("first_paint", 5.0), ("full_resolution", 2.0), ("warm_open", 20.0)):
        ours = median(samples[name])
        ratio = _ratio(naive, ours)
        figures.append(Figure(name, ours, "s", naive, ratio, f"ratio >= {factor:g}", ratio >= factor, runs))
    bare, ours = median(samples["bare"]), median(samples["startup"])
    ratio = _ratio(bare, ours)
    figures.append(Figure("startup", ours, "s", bare, ratio, "ours <= 1.5 x bare window",
                          ours <= 1.5 * bare, runs))
    return figures


def _wl_figures(settings: Settings, wl_naive: list[float], log: Callable[[str], None]) -> list[Figure]:
    log("8-up: peak memory and window/level frames")
    cache = _fresh_cache(settings)
    env = {"MAMMO_WORKSTATION_CACHE_DIR": str(cache)}
    arguments = ["wl", str(settings.exam.current), str(settings.exam.prior),
                 "--events", str(settings.events), "--size", settings.size]
    result = run_child("benchmarks.app_probe", arguments, env)
    shutil.rmtree(cache, ignore_errors=True)
    naive_files = [str(p) for p in settings.exam.files("current") + settings.exam.files("prior")]
    naive = run_child("benchmarks.naive", naive_files)
    naive_frame = median(wl_naive)
    figures = []
    for name, key in (("wl_frame", "wl_frame_8up"), ("wl_frame_4up", "wl_frame_4up")):
        frames = [float(t) for t in result[key]]  # type: ignore[attr-defined]
        ours = median(frames)
        target = "median <= 0.016 s in 8-up" if name == "wl_frame" else ""
        met = ours <= 0.016 if name == "wl_frame" else None
        figures.append(Figure(name, ours, "s", naive_frame, _ratio(naive_frame, ours), target, met, len(frames)))
    peak = float(result["peak_rss_bytes"])  # type: ignore[arg-type]
    naive_peak = float(naive["peak_rss_bytes"])  # type: ignore[arg-type]
    figures.append(Figure("peak_rss", peak / GIB, "GiB", naive_peak / GIB, _ratio(naive_peak, peak),
                          "<= 1.5 GiB", peak <= 1.5 * GIB, 1))
    return figures


def _decode_figures(settings: Settings, log: Callable[[str], None]) -> list[Figure]:
    log("decoders: ours against pydicom's default")
    files = codec_files(settings.work / "codecs", settings.crop)
    pairs = [f"{name}={path}" for name, path in files.items()]
    result = run_child("benchmarks.decoders", [*pairs, "--repeat", str(settings.decode_repeat)])
    figures = []
    for name in files:
        entry: dict[str, float] = result[name]  # type: ignore[assignment]
        ours, baseline = float(entry["ours"]), float(entry["pydicom"])
        figures.append(Figure(f"decode_{name}", ours, "s", baseline, _ratio(baseline, ours), "",
                              None, int(entry["runs"])))
    return figures


STEPS = {
    "all speed-ups": [],
    "without the reduced-resolution first decode": ["preview"],
    "without box-averaged textures": ["reduced-textures"],
    "without the pixel cache": ["pixel-cache"],
}


def step_table(settings: Settings, log: Callable[[str], None]) -> str:
    """Open the exam cold and warm with each speed-up turned off in turn: what each one buys."""
    folder = str(settings.exam.current)
    samples: dict[str, dict[str, list[float]]] = {
        name: {"first_paint": [], "full_resolution": [], "warm_open": []} for name in STEPS
    }
    for round_index in range(settings.rounds):
        log(f"steps, round {round_index + 1} of {settings.rounds}")
        names = list(STEPS)
        shift = round_index % len(names)  # rotate the order so no configuration always goes first
        for name in names[shift:] + names[:shift]:
            disabled = STEPS[name]
            flags = [argument for step in disabled for argument in ("--disable", step)]
            cache = _fresh_cache(settings)
            env = {"MAMMO_WORKSTATION_CACHE_DIR": str(cache)}
            arguments = ["open", folder, "--size", settings.size, *flags]
            cold = run_child("benchmarks.app_probe", arguments, env)
            warm = run_child("benchmarks.app_probe", arguments, env)
            shutil.rmtree(cache, ignore_errors=True)
            samples[name]["first_paint"].append(float(cold["first_paint"]))  # type: ignore[arg-type]
            samples[name]["full_resolution"].append(float(cold["full_resolution"]))  # type: ignore[arg-type]
            samples[name]["warm_open"].append(float(warm["full_resolution"]))  # type: ignore[arg-type]
    rows = ["| configuration | first_paint (s) | full_resolution (s) | warm_open (s) |", "|---|---|---|---|"]
    for name, figures in samples.items():
        cells = " | ".join(f"{median(values):.3f}" for values in figures.values())
        rows.append(f"| {name} | {cells} |")
    return "\n".join(rows)


def _load_average() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "unknown"


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages / GIB:.0f} GiB RAM"
    except (ValueError, OSError):
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs{memory}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def format_table(figures: list[Figure]) -> str:
    rows = [("figure", "ours", "baseline", "ratio", "target", "met")]
    for figure in figures:
        met = "-"
        if figure.met is not None:
            met = "yes" if figure.met else "NO"
        rows.append((figure.name, f"{figure.value:.4g} {figure.unit}", f"{figure.baseline:.4g} {figure.unit}",
                     f"{figure.ratio:.2f}", figure.target, met))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: the demo exam downsampled 4 x 4, one round, 20 drag events")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write the figures to OUT as JSON")
    parser.add_argument("--rounds", type=int, help="runs of each open and startup figure (default 5, quick 1)")
    parser.add_argument("--events", type=int, help="window/level drag events per layout (default 200)")
    parser.add_argument("--size", default="1920x1080", help="window size in pixels, WIDTHxHEIGHT")
    parser.add_argument("--work", type=Path, help="folder for generated test files (default: a temporary folder)")
    parser.add_argument("--steps", action="store_true",
                        help="instead of the figures, open the exam with each speed-up turned off in turn")
    args = parser.parse_args(argv)

    from mammo_workstation.render.xvfb import ensure_display

    ensure_display(1920, 1080)  # one X server for every child, so they share its state
    work = args.work or Path(tempfile.gettempdir()) / "mammo-workstation-benchmarks"
    work.mkdir(parents=True, exist_ok=True)
    exam = small_exam(work / "small") if args.quick else demo_exam()
    settings = Settings(
        exam=exam,
        rounds=args.rounds or (1 if args.quick else 5),
        events=args.events or (20 if args.quick else 200),
        decode_repeat=1 if args.quick else 5,
        crop=512 if args.quick else None,
        size=args.size,
        work=work,
    )

    def log(text: str) -> None:
        print(f"... {text}", flush=True)

    if args.steps:
        print(step_table(settings, log))
        return 0
    load_before = _load_average()
    samples = _open_rounds(settings, log)
    figures = _open_figures(samples)
    figures += _wl_figures(settings, samples["wl_naive"], log)
    figures += _decode_figures(settings, log)
    print()
    print(f"Machine: {machine_description()}")
    print(f"Load average (1 min) at start and end: {load_before} and {_load_average()}; other "
          "processes on the same cores slow the multi-threaded paths more than the baseline")
    print(f"Exam: {settings.exam.current} (current), {settings.exam.prior} (prior); "
          f"{'quick run' if args.quick else f'{settings.rounds} rounds'}; window {settings.size}")
    print(format_table(figures))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({f.name: f.as_json() for f in figures}, indent=2) + "\n")
    return 0
