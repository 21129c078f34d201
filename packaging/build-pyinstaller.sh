#!/usr/bin/env bash
# Build the one-folder PyInstaller bundle into dist/pyinstaller/mammo-workstation/.
#   packaging/build-pyinstaller.sh            build (the build venv is reused when unchanged)
#   packaging/build-pyinstaller.sh --smoke    build, then run the frozen program's screenshot
#                                             command on the demo exam (needs Xvfb or a display)
# The build venv is build/venv-pack: PyInstaller plus the dependencies in pyproject.toml, as
# packaging/pyinstaller/install_build_requirements.py installs them. The application's code is
# read from this checkout. Runs on Linux and macOS; on Windows run the same steps by hand
# (docs/packaging.md).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
smoke=0
case "${1:-}" in
  --smoke) smoke=1 ;;
  "") ;;
  *) echo "usage: $0 [--smoke]" >&2; exit 2 ;;
esac

python=${PYTHON:-}
if [[ -z "$python" ]]; then
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      python=$(command -v "$candidate")
      break
    fi
  done
fi
if [[ -z "$python" ]]; then
  echo "build-pyinstaller: Python 3.11 or newer is required; install it (Debian 12: apt install python3 python3-venv)" >&2
  exit 1
fi
# PyInstaller reads shared-library dependencies with objdump and ldd on Linux.
if [[ $(uname -s) == Linux ]] && ! command -v objdump >/dev/null; then
  echo "build-pyinstaller: objdump not found; install binutils (Debian: apt install binutils)" >&2
  exit 1
fi

venv="$repo/build/venv-pack"
stamp="$venv/.installed-from"
installer="$repo/packaging/pyinstaller/install_build_requirements.py"
fingerprint="$(cat "$repo/pyproject.toml" "$installer" | sha256sum | cut -c1-64)"
if [[ ! -x "$venv/bin/python" ]]; then
  "$python" -m venv "$venv"
fi
if [[ ! -f "$stamp" ]] || ! grep -qx -- "$fingerprint" "$stamp"; then
  echo "build-pyinstaller: installing PyInstaller and the dependencies into $venv" >&2
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" "$installer"
  echo "$fingerprint" > "$stamp"
fi

echo "build-pyinstaller: building dist/pyinstaller/mammo-workstation" >&2
start=$SECONDS
"$venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath "$repo/dist/pyinstaller" --workpath "$repo/build/pyinstaller" \
  "$repo/packaging/pyinstaller/mammo-workstation.spec"
bundle="$repo/dist/pyinstaller/mammo-workstation"
echo "build-pyinstaller: built $bundle in $((SECONDS - start)) s ($(du -sh "$bundle" | cut -f1))" >&2

"$bundle/mammo-workstation" --version

if ((smoke)); then
  out="$repo/build/pyinstaller/smoke-screenshot.png"
  "$bundle/mammo-workstation" screenshot "$bundle/_internal/resources/demo/DEMO-0001" --out "$out"
  echo "build-pyinstaller: the frozen program saved $out" >&2
fi
