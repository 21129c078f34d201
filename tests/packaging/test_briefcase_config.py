"""The briefcase configuration is valid and takes name, version and licence from [project].

The tomllib checks always run. The checks through briefcase's own parser run where briefcase
is installed (``pip install briefcase``), which the test venv is not.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

import mammo_workstation

REPO = Path(__file__).resolve().parents[2]
APP = "mammo-workstation"
# Icon files that briefcase's app templates (0.4) copy: PNG sizes for Linux, ICO for Windows,
# ICNS for macOS.
ICON_SUFFIXES = ("-16.png", "-32.png", "-64.png", "-128.png", "-256.png", "-512.png", ".ico", ".icns")
PLATFORM_FORMATS = [
    ("linux", "system"), ("linux", "appimage"), ("linux", "flatpak"),
    ("windows", "app"), ("windows", "visualstudio"), ("macOS", "app"), ("macOS", "xcode"),
]


@pytest.fixture(scope="module")
def pyproject() -> dict[str, Any]:
    with (REPO / "pyproject.toml").open("rb") as stream:
        return tomllib.load(stream)


def test_version_written_once(pyproject: dict[str, Any]) -> None:
    briefcase = pyproject["tool"]["briefcase"]

    assert "version" not in briefcase
    assert "version" not in briefcase["app"][APP]
    assert mammo_workstation.__version__ == pyproject["project"]["version"]


def test_name_and_licence_from_project(pyproject: dict[str, Any]) -> None:
    briefcase = pyproject["tool"]["briefcase"]

    assert pyproject["project"]["name"] == APP
    for key in ("project_name", "license", "author", "requires"):
        assert key not in briefcase
        assert key not in briefcase["app"][APP]


def test_icon_files_exist(pyproject: dict[str, Any]) -> None:
    icon = REPO / pyproject["tool"]["briefcase"]["app"][APP]["icon"]

    for suffix in ICON_SUFFIXES:
        assert Path(f"{icon}{suffix}").is_file(), f"{icon}{suffix}"


def test_sources_exist(pyproject: dict[str, Any]) -> None:
    for source in pyproject["tool"]["briefcase"]["app"][APP]["sources"]:
        assert (REPO / source).is_dir(), source


def test_briefcase_parses_config(pyproject: dict[str, Any]) -> None:
    """Briefcase's own parser accepts the configuration for every platform and format."""
    config = pytest.importorskip("briefcase.config")
    console = pytest.importorskip("briefcase.console")

    for platform, output_format in PLATFORM_FORMATS:
        _, apps = config.parse_config(REPO / "pyproject.toml", platform, output_format, console.Console())
        app = config.AppConfig(**apps[APP])
        where = f"{platform} {output_format}"

        assert str(app.version) == pyproject["project"]["version"], where
        assert app.bundle_identifier == f"org.mammoworkstation.{APP}", where
        assert app.license == "MIT", where
        assert app.formal_name == "Mammo Workstation", where
        assert app.module_name == "mammo_workstation", where
        assert len(app.description) <= 80, where
        assert set(pyproject["project"]["dependencies"]) <= set(app.requires), where
