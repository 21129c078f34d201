"""Child processes that time the application itself under an X server (Xvfb with Mesa).

    python -m benchmarks.app_probe bare|startup
    python -m benchmarks.app_probe open EXAM_FOLDER [--size WxH]
    python -m benchmarks.app_probe wl CURRENT_FOLDER PRIOR_FOLDER [--events N] [--size WxH]

``open`` reports when every viewport was first painted at a resolution at least as fine as it
is shown (``first_paint``) and when every viewport was painted from the full-resolution decode
(``full_resolution``), both from the open request. It then waits for the pixel cache writes,
so that the next ``open`` of the same exam in a new process is a warm open. ``wl`` hangs the
current and prior exams 8-up, reports the peak resident memory once all are at full
resolution, then times window/level drag frames in 8-up and in 4-up.
"""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.measure import emit_result, peak_rss_bytes, spawned_at

_POLL_S = 0.001


def _size(text: str) -> tuple[int, int]:
    width, height = (int(part) for part in text.lower().split("x"))
    return width, height


def _process_until(app: Any, condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.processEvents()
        if condition():
            return True
        time.sleep(_POLL_S)
    return False


def _show(app: Any, window: Any, size: tuple[int, int]) -> float:
    """Show ``window`` and process events until it is exposed; return the monotonic time."""
    window.resize(*size)
    window.show()
    _process_until(app, lambda: window.windowHandle() is not None and window.windowHandle().isExposed(), 30)
    app.processEvents()
    return time.monotonic()


def probe_bare(size: tuple[int, int]) -> None:
    from PySide6.QtWidgets import QApplication, QMainWindow

    app = QApplication(["bare"])
    window = QMainWindow()
    window.setWindowTitle("bare")
    shown = _show(app, window, size)
    emit_result({"seconds": shown - spawned_at()})


def probe_startup(size: tuple[int, int]) -> None:
    from mammo_workstation.gui.app import create_application, create_main_window
    from mammo_workstation.settings import Settings

    app = create_application()
    window = create_main_window(Settings.load().display.force_software_rendering)
    shown = _show(app, window, size)
    emit_result({"seconds": shown - spawned_at(), "renderer": window.renderer_note})  # type: ignore[attr-defined]


class PaintTracker:
    """Records, per viewport, the first adequate frame and the first adequate full-resolution one.

    Adequate means painted from a texture at least as fine as the screen shows the image:
    texture pixels per image pixel (2**-level) >= screen pixels per image pixel. Full
    resolution means the texture was made from the full-resolution decode: the full image,
    or its pixels averaged over 2**level blocks as a mipmap level is.
    """

    def __init__(self, start: float) -> None:
        self.start = start
        self.adequate: dict[int, float] = {}
        self.full: dict[int, float] = {}
        self.swaps: dict[int, int] = {}
        self.viewports: list[Any] = []

    def watch(self, viewports: list[Any]) -> None:
        """Track ``viewports`` from now on, forgetting the ones watched before."""
        self.viewports = list(viewports)
        self.adequate.clear()
        self.full.clear()
        for index, viewport in enumerate(self.viewports):
            self.swaps[index] = 0
            viewport.frameSwapped.connect(lambda watched=viewport: self._swapped(watched))

    def expected(self) -> list[int]:
        return [i for i, v in enumerate(self.viewports) if getattr(v, "display_image", None) is not None
                or "loading" in getattr(v, "empty_text", "")]

    def done(self, which: dict[int, float]) -> bool:
        expected = self.expected()
        return bool(expected) and all(i in which for i in expected)

    def _swapped(self, viewport: Any) -> None:
        now = time.monotonic()
        index = next((i for i, watched in enumerate(self.viewports) if watched is viewport), None)
        if index is None:
            return  # a viewport of an earlier layout, about to be deleted
        self.swaps[index] += 1
        level = viewport.texture_level
        if viewport.display_image is None or level is None:
            return
        shown = viewport.camera.scale * viewport.devicePixelRatioF()
        if 2.0**-level < shown * (1 - 1e-9):
            return
        self.adequate.setdefault(index, now - self.start)
        if viewport.texture_from_full_resolution:
            self.full.setdefault(index, now - self.start)


def guard_none_refcount() -> bool:
    """Detect a shiboken bug that drops a reference to None per call, and keep None alive.

    PySide6 6.12.0 on Python 3.11 (where None is not immortal) decrements None's reference
    count on every call of a method returning void. A viewport repaint makes about 50 such
    calls, so the process aborts with "Fatal Python error: none_dealloc" after a few hundred
    frames. The probes add 10**9 references so that 200 drag events per layout can be timed;
    the application itself is not protected. Returns whether the bug was found.
    """
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(100):
        probe.setObjectName("probe")
    if sys.getrefcount(None) >= before - 50:
        return False
    # ob_refcnt is the first field of every CPython object.
    ctypes.c_ssize_t.from_address(id(None)).value += 10**9
    print("WARNING: PySide6 drops a reference to None on each void call; see guard_none_refcount",
          file=sys.stderr, flush=True)
    return True


def _wait_for_pixel_cache(app: Any, viewports: list[Any], timeout: float) -> bool:
    from mammo_workstation.cache.pixels import PixelCache

    cache = PixelCache()
    uids = [str(v.display_image.dataset.SOPInstanceUID) for v in viewports if v.display_image is not None]
    return _process_until(app, lambda: all(cache.contains(uid) for uid in uids), timeout)


def probe_open(exam: Path, size: tuple[int, int], timeout: float, disabled: list[str]) -> None:
    from mammo_workstation.gui.app import create_application, create_main_window

    app = create_application()
    none_bug = guard_none_refcount()
    window: Any = create_main_window()
    _disable(window.loader, disabled)
    _show(app, window, size)
    start = time.monotonic()
    tracker = PaintTracker(start)
    window.study_shown.connect(lambda: tracker.watch(window.reading_view.viewports))
    window.open_paths([exam])
    if not _process_until(app, lambda: tracker.done(tracker.full), timeout):
        raise SystemExit(f"the exam {exam} was not shown at full resolution within {timeout:.0f} s")
    cached = window.loader.pixel_cache is not None and _wait_for_pixel_cache(app, tracker.viewports, timeout)
    emit_result({
        "first_paint": max(tracker.adequate.values()),
        "full_resolution": max(tracker.full.values()),
        "viewports": len(tracker.expected()),
        "pixel_cache_written": cached,
        "peak_rss_bytes": peak_rss_bytes(),
        "renderer": window.renderer_note,
        "pyside_none_refcount_bug": none_bug,
    })


def _disable(loader: Any, steps: list[str]) -> None:
    """Turn speed-ups off, to measure what each one buys."""
    if "preview" in steps:
        loader.progressive = False
    if "reduced-textures" in steps:
        loader.reduced_textures = False
    if "pixel-cache" in steps:
        loader.pixel_cache = None


def eight_up(collection: Any, current: Any, prior: Any) -> tuple[Any, list[Any]]:
    """Current (left half) and prior (right half) screening views, each 2 x 2."""
    from mammo_workstation.hanging import layout as hanging

    specs = []
    for spec in hanging.SCREENING_4UP.viewports:
        specs.append(spec)
        specs.append(dataclasses.replace(spec, column=spec.column + 2, label=f"{spec.label} prior",
                                         study=hanging.PRIOR))
    layout = hanging.Layout("Current and prior 8-up", 2, 4, tuple(specs))
    placements = hanging.place(layout, current.instances, {hanging.PRIOR: prior.instances})
    return layout, placements


def _drag_frames(app: Any, tracker: PaintTracker, index: int, events: int) -> list[float]:
    """Right-drag on viewport ``index``; time each move event until its frame is presented."""
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    viewport = tracker.viewports[index]
    centre = QPointF(viewport.width() / 2, viewport.height() / 2)
    right, none = Qt.MouseButton.RightButton, Qt.MouseButton.NoButton
    modifiers = Qt.KeyboardModifier.NoModifier

    def send(kind: QEvent.Type, position: QPointF, button: Qt.MouseButton, buttons: Qt.MouseButton) -> None:
        event = QMouseEvent(kind, position, viewport.mapToGlobal(position), button, buttons, modifiers)
        QApplication.sendEvent(viewport, event)

    send(QEvent.Type.MouseButtonPress, centre, right, right)
    _process_until(app, lambda: False, 0.05)
    frames = []
    for step in range(events):
        offset = ((step % 40) - 20) * 3.0
        swaps = tracker.swaps[index]
        started = time.perf_counter()
        send(QEvent.Type.MouseMove, centre + QPointF(offset, -offset / 2), none, right)
        if not _process_until(app, lambda before=swaps: tracker.swaps[index] > before, 5.0):
            raise SystemExit("a window/level drag event produced no frame within 5 s")
        frames.append(time.perf_counter() - started)
    send(QEvent.Type.MouseButtonRelease, centre, right, none)
    return frames


def probe_wl(current_folder: Path, prior_folder: Path, size: tuple[int, int], events: int,
             timeout: float) -> None:
    from mammo_workstation.dicom.loader import load_paths
    from mammo_workstation.gui.app import create_application, create_main_window

    app = create_application()
    none_bug = guard_none_refcount()
    window: Any = create_main_window()
    _show(app, window, size)
    collection = load_paths([current_folder, prior_folder])
    studies = collection.studies
    current = next(s for s in studies if current_folder in {i.path.parent for i in s.instances})
    prior = next(s for s in studies if prior_folder in {i.path.parent for i in s.instances})
    layout, placements = eight_up(collection, current, prior)
    view = window.reading_view
    start = time.monotonic()
    tracker = PaintTracker(start)
    view.show_layout(layout, placements, collection.patient_of(current),
                     {current.study_instance_uid: "Current", prior.study_instance_uid: "Prior"})
    tracker.watch(view.viewports)
    if not _process_until(app, lambda: tracker.done(tracker.full), timeout):
        raise SystemExit(f"the 8-up was not shown at full resolution within {timeout:.0f} s")
    eight_full = max(tracker.full.values())
    _wait_for_pixel_cache(app, tracker.viewports, timeout)
    peak = peak_rss_bytes()
    frames_8 = _drag_frames(app, tracker, 0, events)
    window.collection = collection
    window.show_study(current)
    tracker.watch(view.viewports)
    if not _process_until(app, lambda: tracker.done(tracker.full), timeout):
        raise SystemExit(f"the 4-up was not shown at full resolution within {timeout:.0f} s")
    frames_4 = _drag_frames(app, tracker, 0, events)
    emit_result({
        "eight_up_full_resolution": eight_full,
        "eight_up_viewports": len(placements),
        "peak_rss_bytes": peak,
        "wl_frame_8up": frames_8,
        "wl_frame_4up": frames_4,
        "renderer": window.renderer_note,
        "pyside_none_refcount_bug": none_bug,
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["bare", "startup", "open", "wl"])
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--size", type=_size, default=(1600, 1000), help="window size, WIDTHxHEIGHT")
    parser.add_argument("--events", type=int, default=200, help="window/level drag events per layout")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for images")
    parser.add_argument("--disable", action="append", default=[],
                        choices=["preview", "reduced-textures", "pixel-cache"],
                        help="turn a speed-up off (open mode; may be repeated)")
    args = parser.parse_args()
    if not os.environ.get("DISPLAY"):
        from mammo_workstation.render.xvfb import ensure_display

        ensure_display()
    if args.mode == "bare":
        probe_bare(args.size)
    elif args.mode == "startup":
        probe_startup(args.size)
    elif args.mode == "open":
        probe_open(args.folders[0], args.size, args.timeout, args.disable)
    else:
        probe_wl(args.folders[0], args.folders[1], args.size, args.events, args.timeout)


if __name__ == "__main__":
    main()
