"""Qt set-up for the progressive-display tests: one QApplication under X (Xvfb when needed)."""

from __future__ import annotations

import os

import pytest

from mammo_workstation.render.xvfb import ensure_display


@pytest.fixture(scope="session")
def qapp_cls():
    ensure_display()
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        pytest.skip("no X display and no Xvfb; these tests need one")
    from mammo_workstation.gui.app import create_application

    create_application()
    from PySide6.QtWidgets import QApplication

    return QApplication
