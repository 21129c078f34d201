"""Start a private Xvfb for commands that render without a screen (``render``, ``screenshot``).

OpenGL through Qt needs a window system; Qt's offscreen platform has none. When no display is
set and Xvfb is installed, a private server with Mesa's software OpenGL is started for the
process and stopped when it exits.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import subprocess

logger = logging.getLogger(__name__)


def ensure_display(width: int = 1920, height: int = 1080) -> str | None:
    """Return the display in use, starting Xvfb if none is set; None when none can be had."""
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if os.environ.get("QT_QPA_PLATFORM", "xcb") not in ("xcb", ""):
        return None
    executable = shutil.which("Xvfb")
    if executable is None:
        return None
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        [executable, "-displayfd", str(write_end), "-screen", "0", f"{width}x{height}x24",
         "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    with os.fdopen(read_end) as stream:
        number = stream.readline().strip()
    if not number:
        process.kill()
        logger.warning("Xvfb did not start; rendering falls back to software")
        return None
    display = f":{number}"
    os.environ["DISPLAY"] = display
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    atexit.register(_stop, process)
    logger.info("Started Xvfb on display %s for offscreen rendering", display)
    return display


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
