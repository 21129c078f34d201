"""``screenshot``: the reading window as shown, after every image has been decoded."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from mammo_workstation.gui.main_window import MainWindow


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "screenshot",
        help="save the reading window showing PATH as PNG",
        description="Open PATH in the reading window, wait until every image is shown and save "
        "the window as PNG. Starts a private Xvfb when no display is set.",
    )
    parser.add_argument("paths", nargs="+", type=Path, help="DICOM files, folders or DICOMDIR files")
    parser.add_argument("--out", type=Path, required=True, help="output PNG file")
    parser.add_argument("--size", default="1600x1000", help="window size in pixels, WIDTHxHEIGHT (default 1600x1000)")
    parser.add_argument("--stage", type=int, default=1, metavar="N",
                        help="hanging-protocol stage to show, 1 for the first (default 1)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the images (default 120)")
    parser.set_defaults(handler=run)


def parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid size {text!r}; expected WIDTHxHEIGHT, for example 1600x1000") from None
    return width, height


def run(args: argparse.Namespace) -> int:
    try:
        width, height = parse_size(args.size)
    except argparse.ArgumentTypeError as error:
        print(f"screenshot: {error}", file=sys.stderr)
        return 2
    from mammo_workstation.render.xvfb import ensure_display

    ensure_display(max(width, 1920), max(height, 1080))
    from mammo_workstation.gui.app import create_application, create_main_window
    from mammo_workstation.gui.capture import capture_widget

    app = create_application()
    window = create_main_window()
    window.resize(width, height)
    window.show()
    window.open_paths(list(args.paths))
    if not wait_until_shown(app, window, args.timeout):
        print(f"screenshot: the images were not shown within {args.timeout:.0f} s", file=sys.stderr)
        return 1
    if window.current_study is None:
        print("screenshot: no displayable images found in " + ", ".join(map(str, args.paths)), file=sys.stderr)
        return 1
    view = window.reading_view
    if args.stage != 1:
        if not 1 <= args.stage <= view.stage_count:
            print(f"screenshot: invalid --stage {args.stage}; the protocol has stages 1 to {view.stage_count}",
                  file=sys.stderr)
            return 2
        view.show_stage(args.stage - 1)
        if not wait_until_shown(app, window, args.timeout):
            print(f"screenshot: stage {args.stage} was not shown within {args.timeout:.0f} s", file=sys.stderr)
            return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not capture_widget(window).save(str(args.out), "PNG"):  # type: ignore[call-overload]
        print(f"screenshot: cannot write {args.out}", file=sys.stderr)
        return 1
    window.close()
    return 0


def wait_until_shown(app: QApplication, window: MainWindow, timeout: float) -> bool:
    """Process events until a study is shown and decoded, or the scan found nothing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.processEvents()
        view = window.reading_view
        scanned = window.scan_done
        # Wait for full resolution too: the first paint may be a reduced-resolution decode.
        if window.current_study is not None and not view.loading and not window.loader.busy:
            for _ in range(3):  # let the viewports paint once more
                app.processEvents()
            return True
        if scanned and window.current_study is None:
            return True
        time.sleep(0.01)
    return False
