"""The PyInstaller spec's lists cover every runtime resource and every codec plugin.

These checks run in seconds without PyInstaller: they read the same ``bundle_contents`` module
the spec builds from, and compare it with the checkout and the installed packages.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


def bundled_paths(pairs: list[tuple[str, str]]) -> set[str]:
    """Turn ``(source, destination folder)`` pairs into paths relative to the bundle root."""
    return {f"{destination}/{Path(source).name}" for source, destination in pairs}


def test_package_data_keeps_shaders(bundle_contents: ModuleType) -> None:
    bundled = bundled_paths(bundle_contents.package_data(REPO))

    assert "mammo_workstation/render/display.vert" in bundled
    assert "mammo_workstation/render/display.frag" in bundled


def test_package_data_keeps_every_resource(bundle_contents: ModuleType) -> None:
    bundled = bundled_paths(bundle_contents.package_data(REPO))
    on_disk = {
        path.relative_to(REPO).as_posix()
        for path in (REPO / "mammo_workstation").rglob("*")
        if path.is_file() and path.suffix not in {".py", ".pyc"} and "__pycache__" not in path.parts
    }

    assert on_disk - bundled == set()
    assert not [path for path in bundled if "__pycache__" in path]


def test_package_data_keeps_protocols(bundle_contents: ModuleType) -> None:
    protocols = sorted((REPO / "mammo_workstation" / "hanging" / "protocols").glob("*.toml"))
    if not protocols:
        pytest.skip("no bundled hanging protocols in this checkout yet")
    bundled = bundled_paths(bundle_contents.package_data(REPO))

    for protocol in protocols:
        assert f"mammo_workstation/hanging/protocols/{protocol.name}" in bundled


def test_demo_exam_found_when_frozen(bundle_contents: ModuleType, monkeypatch: pytest.MonkeyPatch,
                                     tmp_path: Path) -> None:
    from mammo_workstation import resources

    monkeypatch.delenv("MAMMO_WORKSTATION_RESOURCES", raising=False)
    monkeypatch.setattr("sys._MEIPASS", str(tmp_path), raising=False)
    demo_in_bundle = resources.demo_exam_dir().relative_to(tmp_path).as_posix()
    bundled = bundled_paths(bundle_contents.resource_data(REPO))
    demo_files = sorted((REPO / "resources" / "demo" / "DEMO-0001").rglob("*.dcm"))

    assert len(demo_files) == 8
    for path in demo_files:
        relative = path.relative_to(REPO / "resources" / "demo" / "DEMO-0001").as_posix()
        assert f"{demo_in_bundle}/{relative}" in bundled


def test_icons_bundled_without_generator(bundle_contents: ModuleType) -> None:
    bundled = bundled_paths(bundle_contents.resource_data(REPO))

    for name in ("mammo-workstation.svg", "mammo-workstation.png", "mammo-workstation.ico",
                 "mammo-workstation.icns"):
        assert f"resources/icons/{name}" in bundled
    assert "resources/icons/make_icons.py" not in bundled


def test_notice_files_bundled(bundle_contents: ModuleType) -> None:
    pairs = bundle_contents.notice_files(REPO)

    assert bundled_paths(pairs) == {"./LICENSE", "./README.md"}
    for source, _ in pairs:
        assert Path(source).is_file(), source
    assert "CBIS-DDSM" in (REPO / "README.md").read_text(encoding="utf-8")


def test_pydicom_plugins_collected(bundle_contents: ModuleType) -> None:
    """Every plugin module that pydicom's coders register (by import path) is a hidden import."""
    hidden = set(bundle_contents.hidden_imports(REPO))
    registered: set[str] = set()
    for package in ("pydicom.pixels.decoders", "pydicom.pixels.encoders"):
        base = Path(importlib.import_module(f"{package}.base").__file__ or "")
        registered |= set(re.findall(r'"(pydicom\.pixels\.(?:de|en)coders\.\w+)"', base.read_text()))

    assert "pydicom.pixels.decoders.pylibjpeg" in registered
    assert registered - hidden == set()


@pytest.mark.parametrize("module", ["openjpeg", "libjpeg", "rle", "jpeg_ls"])
def test_codec_packages_collected(bundle_contents: ModuleType, module: str) -> None:
    assert module in bundle_contents.hidden_imports(REPO)


def test_pylibjpeg_entry_points_collected(bundle_contents: ModuleType) -> None:
    """pylibjpeg finds plugins through entry points, so their modules and metadata are bundled."""
    hidden = set(bundle_contents.hidden_imports(REPO))
    distributions = set(bundle_contents.pylibjpeg_plugin_distributions())
    entry_points = bundle_contents.pylibjpeg_entry_points()

    assert {"pylibjpeg-openjpeg", "pylibjpeg-libjpeg", "pylibjpeg-rle"} <= distributions
    for entry_point in entry_points:
        assert entry_point.module in hidden, entry_point
        assert entry_point.dist is not None
        assert entry_point.dist.name in distributions, entry_point


def test_imagecodecs_functions_collected(bundle_contents: ModuleType) -> None:
    """Every imagecodecs function the package calls has its extension module bundled."""
    from imagecodecs import imagecodecs as loader

    # imagecodecs (2024 and later) maps each function to its extension module in _ATTRIBUTES.
    extension_of = getattr(loader, "_ATTRIBUTES", None)
    if not isinstance(extension_of, dict):
        pytest.fail("imagecodecs has no _ATTRIBUTES table; check how this release loads its extensions")
    hidden = set(bundle_contents.hidden_imports(REPO))
    called: set[str] = set()
    for path in (REPO / "mammo_workstation").rglob("*.py"):
        called |= set(re.findall(r"imagecodecs\.(\w+_(?:decode|encode))\b", path.read_text(encoding="utf-8")))

    assert "jpeg2k_decode" in called
    for name in sorted(called):
        module = f"imagecodecs.{extension_of[name]}"
        assert module in hidden, f"imagecodecs.{name} lives in {module}, which the spec does not collect"


def test_application_modules_listed(bundle_contents: ModuleType) -> None:
    modules = set(bundle_contents.application_modules(REPO))

    for name in ("mammo_workstation.cli", "mammo_workstation.commands.screenshot",
                 "mammo_workstation.commands.render", "mammo_workstation.gui.app"):
        assert name in modules
    assert not [name for name in modules if "__pycache__" in name]
