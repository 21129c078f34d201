"""Qt fixtures for the hanging-protocol GUI tests: the QApplication and a shown main window."""

from __future__ import annotations

import os

import pytest

from mammo_workstation.render.xvfb import ensure_display


@pytest.fixture(scope="session")
def qapp_cls():
    ensure_display()
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        pytest.skip("no X display and no Xvfb; the GUI tests need one")
    from mammo_workstation.gui.app import create_application

    create_application()
    from PySide6.QtWidgets import QApplication

    return QApplication


@pytest.fixture
def main_window(qtbot):
    from mammo_workstation.gui.app import create_main_window

    window = create_main_window()
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    return window
