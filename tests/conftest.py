"""Shared fixtures: where the test data is, and an isolated config and cache per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The shared test data sits beside the repository (../shared/data); a clone elsewhere lacks it.
DATA_DIR = Path(os.environ.get("MAMMO_WORKSTATION_TEST_DATA", REPO.parent / "shared" / "data"))
DEMO_DIR = REPO / "resources" / "demo" / "DEMO-0001"
DEMO_CURRENT = DEMO_DIR / "2025-11-12_screening"
DEMO_PRIOR = DEMO_DIR / "2023-10-30_screening"


def data_path(*parts: str) -> Path:
    """A file under the shared test data; skips the test when the data folder is absent."""
    if not DATA_DIR.is_dir():
        pytest.skip(f"shared test data not found at {DATA_DIR} (set MAMMO_WORKSTATION_TEST_DATA)")
    return DATA_DIR.joinpath(*parts)


@pytest.fixture(scope="session", autouse=True)
def _isolated_user_folders(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep tests away from the real user's settings, cache and protocols."""
    root = tmp_path_factory.mktemp("user")
    for variable, name in (
        ("MAMMO_WORKSTATION_CONFIG_DIR", "config"),
        ("MAMMO_WORKSTATION_CACHE_DIR", "cache"),
        ("MAMMO_WORKSTATION_SITE_DIR", "site"),
    ):
        os.environ.setdefault(variable, str(root / name))


@pytest.fixture(scope="session", autouse=True)
def _one_qapplication() -> None:
    """Create the one QApplication first, with the OpenGL 3.3 default format.

    Qt allows one application object per process. A test that made a bare QGuiApplication
    first would make every later QWidget abort the process, so the widget-capable
    QApplication is made before any test runs, on a private Xvfb when no display is set.
    """
    from mammo_workstation.render.xvfb import ensure_display

    ensure_display()
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        return  # Tests that need Qt skip through their own fixtures.
    from mammo_workstation.gui.app import create_application

    create_application()


@pytest.fixture(scope="session")
def qapp_cls():
    """Hand pytest-qt the QApplication made above; skip Qt tests where no display exists."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        pytest.skip("no X display and no Xvfb; the Qt tests need one")
    from PySide6.QtWidgets import QApplication

    return QApplication


@pytest.fixture
def main_window(qtbot):
    """A shown main window on the GPU path where OpenGL works."""
    from mammo_workstation.gui.app import create_main_window

    window = create_main_window()
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    return window
