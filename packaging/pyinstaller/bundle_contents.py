"""Files and modules the frozen application needs beyond those PyInstaller finds by imports.

The spec (``mammo-workstation.spec``) and the quick packaging tests both import this module, so
the list the bundle is built from is the list the tests check. It imports no PyInstaller code;
the packages it inspects (pydicom, pylibjpeg and its plugins, imagecodecs) must be installed in
the running interpreter.

Three kinds of thing are invisible to PyInstaller's import analysis:

- data files read at run time: the shaders and hanging protocols inside the package (read with
  ``importlib.resources``) and the ``resources/`` folder of the checkout (the demo exam and the
  icons, found through ``sys._MEIPASS`` by ``mammo_workstation.resources``);
- modules imported by name at run time: pydicom's pixel-data decoder and encoder plugins
  (``pydicom.pixels.common.CoderBase.add_plugin`` calls ``import_module``), the pylibjpeg
  plugins (found through entry points), imagecodecs' codec extensions (``imagecodecs.__getattr__``)
  and the subcommands that ``mammo_workstation.cli`` imports inside functions;
- distribution metadata: pylibjpeg finds its plugins with ``importlib.metadata.entry_points``,
  which returns entry points only of distributions whose ``.dist-info`` folder is bundled.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
from pathlib import Path

PACKAGE = "mammo_workstation"
RESOURCES = "resources"

# Files that are source or build by-products, never read by the running application.
_SKIPPED_SUFFIXES = {".py", ".pyc", ".pyi", ".pyo"}
_SKIPPED_FOLDERS = {"__pycache__", ".mypy_cache", ".pytest_cache"}

# Entry-point groups through which pylibjpeg (2.x) loads its plugins (pylibjpeg/utils.py).
PYLIBJPEG_ENTRY_POINT_GROUPS = (
    "pylibjpeg.pixel_data_decoders",
    "pylibjpeg.pixel_data_encoders",
    "pylibjpeg.jpeg_decoders",
    "pylibjpeg.jpeg_ls_decoders",
    "pylibjpeg.jpeg_xt_decoders",
    "pylibjpeg.jpeg_2000_decoders",
    "pylibjpeg.utils",
)

# Import names of the codec packages that pydicom's plugins import inside functions or behind
# availability checks: pyjpegls installs ``jpeg_ls``, the pylibjpeg plugins ``openjpeg``,
# ``libjpeg`` and ``rle``.
CODEC_PACKAGES = ("jpeg_ls", "openjpeg", "libjpeg", "rle", "pylibjpeg")


def _is_runtime_file(path: Path) -> bool:
    return (
        path.is_file()
        and path.suffix not in _SKIPPED_SUFFIXES
        and not _SKIPPED_FOLDERS.intersection(path.parts)
    )


def package_data(repo: Path) -> list[tuple[str, str]]:
    """List ``(source file, destination folder)`` for every non-Python file in the package.

    Shaders (``render/*.vert``, ``render/*.frag``) and hanging protocols
    (``hanging/protocols/*.toml``) keep their place relative to the package, so
    ``importlib.resources.files("mammo_workstation.…")`` finds them in the bundle as in a
    checkout. Every such file is taken, so a new kind of resource needs no change here.
    """
    root = repo / PACKAGE
    return [
        (str(path), str(path.parent.relative_to(repo)))
        for path in sorted(root.rglob("*"))
        if _is_runtime_file(path)
    ]


def resource_data(repo: Path) -> list[tuple[str, str]]:
    """List ``(source file, destination folder)`` for the ``resources/`` folder of the checkout.

    ``mammo_workstation.resources.resources_dir`` returns ``sys._MEIPASS / "resources"`` in a
    frozen application, so the folder keeps its name and layout. The icon generator script
    (``resources/icons/make_icons.py``) is skipped with every other Python file.
    """
    root = repo / RESOURCES
    return [
        (str(path), str(path.parent.relative_to(repo)))
        for path in sorted(root.rglob("*"))
        if _is_runtime_file(path)
    ]


def notice_files(repo: Path) -> list[tuple[str, str]]:
    """List ``(source file, destination folder)`` for the licence and the README.

    The README carries the demo exam's CC BY 3.0 attribution, which must travel with the images.
    Both go to the bundle's contents folder (``_internal/`` with PyInstaller 6).
    """
    return [(str(repo / name), ".") for name in ("LICENSE", "README.md")]


def application_modules(repo: Path) -> list[str]:
    """List every module of the package, found from the source tree without importing it.

    ``mammo_workstation.cli`` imports subcommands and the GUI inside functions, and the PACS
    commands only when their package is present. Listing every module keeps the frozen
    program's commands the same as the checkout's.
    """
    root = repo / PACKAGE
    modules = []
    for path in sorted(root.rglob("*.py")):
        if _SKIPPED_FOLDERS.intersection(path.parts):
            continue
        parts = list(path.relative_to(repo).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules.append(".".join(parts))
    return modules


def pydicom_plugin_modules() -> list[str]:
    """List pydicom's pixel-data decoder and encoder plugin modules (pydicom 3.x)."""
    modules = []
    for package_name in ("pydicom.pixels.decoders", "pydicom.pixels.encoders"):
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__):
            if info.name != "base":
                modules.append(f"{package_name}.{info.name}")
    return sorted(modules)


def pylibjpeg_entry_points() -> list[importlib.metadata.EntryPoint]:
    """List the installed pylibjpeg plugin entry points, every group included."""
    found: list[importlib.metadata.EntryPoint] = []
    for group in PYLIBJPEG_ENTRY_POINT_GROUPS:
        found.extend(importlib.metadata.entry_points(group=group))
    return found


def pylibjpeg_plugin_modules() -> list[str]:
    """List the modules that the installed pylibjpeg entry points name (``openjpeg``, …)."""
    return sorted({entry_point.module for entry_point in pylibjpeg_entry_points()})


def pylibjpeg_plugin_distributions() -> list[str]:
    """List the distributions whose metadata must be bundled for their entry points to be found."""
    names = {"pylibjpeg"}
    for entry_point in pylibjpeg_entry_points():
        if entry_point.dist is not None:
            names.add(entry_point.dist.name)
    return sorted(names)


def imagecodecs_modules() -> list[str]:
    """List imagecodecs' compiled codec modules (``imagecodecs._jpeg2k`` and the rest).

    imagecodecs imports each codec's extension on first use from a module ``__getattr__``,
    which PyInstaller cannot follow. All of them are taken (79 MB with their libraries in
    imagecodecs 2026.3.6) because the decoder chosen depends on the transfer syntax of each file.
    """
    package = importlib.import_module("imagecodecs")
    return sorted(
        f"imagecodecs.{info.name}"
        for info in pkgutil.iter_modules(package.__path__)
        if info.name.startswith("_") and not info.name.startswith("__")
    )


def hidden_imports(repo: Path) -> list[str]:
    """List every module that the bundle needs and that import analysis cannot see."""
    modules = [
        *application_modules(repo),
        *pydicom_plugin_modules(),
        *pylibjpeg_plugin_modules(),
        *imagecodecs_modules(),
        *CODEC_PACKAGES,
    ]
    return sorted(set(modules))
