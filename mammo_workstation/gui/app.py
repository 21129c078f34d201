"""Start the Qt application: OpenGL probe, main window, paths from the command line."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QGuiApplication, QIcon, QOpenGLContext, QSurfaceFormat
from PySide6.QtWidgets import QApplication

from mammo_workstation.render.offscreen import surface_format
from mammo_workstation.resources import demo_exam_dir, resources_dir
from mammo_workstation.settings import Settings

if TYPE_CHECKING:
    from mammo_workstation.gui.main_window import MainWindow

logger = logging.getLogger(__name__)


def create_application(argv: Sequence[str] | None = None) -> QApplication:
    """Create the QApplication, with OpenGL 3.3 core as the default format for every GL widget."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    QSurfaceFormat.setDefaultFormat(surface_format())
    app = QApplication(list(argv or ["mammo-workstation"]))
    app.setApplicationName("mammo-workstation")
    app.setApplicationDisplayName("Mammo Workstation")
    icon = resources_dir() / "icons" / "mammo-workstation.svg"
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    return app


def probe_gpu() -> tuple[bool, str]:
    """Check whether an OpenGL 3.3 context can be made; return that and a status-bar note."""
    if QGuiApplication.platformName() in ("offscreen", "minimal"):
        return False, f"Software rendering: the Qt platform '{QGuiApplication.platformName()}' has no OpenGL"
    context = QOpenGLContext()
    context.setFormat(surface_format())
    if not context.create() or context.format().majorVersion() < 3:
        return False, "Software rendering: no OpenGL 3.3 context could be made; check the graphics driver"
    from PySide6.QtGui import QOffscreenSurface

    surface = QOffscreenSurface()
    surface.setFormat(context.format())
    surface.create()
    if not context.makeCurrent(surface):
        return False, "Software rendering: the OpenGL context could not be made current"
    renderer = context.functions().glGetString(0x1F01)
    context.doneCurrent()
    return True, f"GPU rendering: {renderer}"


def create_main_window(force_software: bool = False) -> MainWindow:
    from mammo_workstation.gui.main_window import MainWindow

    use_gpu, note = probe_gpu()
    if force_software and use_gpu:
        use_gpu, note = False, "Software rendering (selected in the settings)"
    logger.info("%s", note)
    return MainWindow(use_gpu, note)


def run_viewer(paths: Sequence[str], demo: bool = False) -> int:
    app = create_application(sys.argv[:1])
    settings = Settings.load()
    window = create_main_window(settings.display.force_software_rendering)
    window.resize(1600, 1000)
    window.show()
    targets = [Path(p) for p in paths]
    if demo or not targets:
        demo_dir = demo_exam_dir()
        if demo or demo_dir.exists():
            targets = [demo_dir]
    if targets:
        window.open_paths(targets)
    return int(app.exec())
