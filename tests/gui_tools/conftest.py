"""A QApplication on a real or private X display for the viewport tool tests."""

from __future__ import annotations

import os

import pytest

from mammo_workstation.render.xvfb import ensure_display


@pytest.fixture(scope="session")
def qapp_cls():
    ensure_display()
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        pytest.skip("no X display and no Xvfb; the viewport tool tests need one")
    from PySide6.QtGui import QSurfaceFormat
    from PySide6.QtWidgets import QApplication

    from mammo_workstation.render.offscreen import surface_format

    if QApplication.instance() is None:
        QSurfaceFormat.setDefaultFormat(surface_format())
    return QApplication
