"""Install PyInstaller and the application's dependencies into the running interpreter.

    python packaging/pyinstaller/install_build_requirements.py

The dependencies are read from ``[project] dependencies`` in pyproject.toml, so the build venv
gets the same list as a pip install of the package. The package itself is not installed,
because the spec reads its modules and data from the checkout.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Tested together (docs/packaging.md); newer releases usually work, but bump both deliberately.
BUILD_TOOLS = ["pyinstaller==6.22.3", "pyinstaller-hooks-contrib==2026.10"]


def main() -> int:
    with (REPO / "pyproject.toml").open("rb") as stream:
        dependencies = tomllib.load(stream)["project"]["dependencies"]
    command = [sys.executable, "-m", "pip", "install", "--quiet", *BUILD_TOOLS, *dependencies]
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
