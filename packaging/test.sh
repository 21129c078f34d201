#!/usr/bin/env bash
# Install everything (Debian packages included), then run ruff, mypy and the whole test suite
# under a private Xvfb with Mesa's software OpenGL. Extra arguments go to pytest.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$repo/packaging/bootstrap.sh" --test
cd "$repo"
bin="$repo/.venv/bin"
echo "== ruff"
"$bin/ruff" check mammo_workstation tests benchmarks
echo "== mypy"
"$bin/mypy"
echo "== pytest"
unset DISPLAY WAYLAND_DISPLAY
export QT_QPA_PLATFORM=xcb
exec xvfb-run -a -s "-screen 0 1920x1080x24 -nolisten tcp" "$bin/python" -m pytest "$@"
