"""Fixtures for the packaging tests: the checkout, and the bundle-contents module the spec uses."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
PYINSTALLER_DIR = REPO / "packaging" / "pyinstaller"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "bundle: builds the PyInstaller bundle (about 1 to 3 min and 2 GB of disk)"
    )


@pytest.fixture(scope="session")
def bundle_contents() -> ModuleType:
    """``packaging/pyinstaller/bundle_contents.py``, imported the way the spec imports it."""
    spec = importlib.util.spec_from_file_location("bundle_contents", PYINSTALLER_DIR / "bundle_contents.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bundle_contents", module)
    spec.loader.exec_module(module)
    return module
