#!/usr/bin/env bash
# Install what mammo_workstation needs on Debian or Ubuntu, into .venv beside this checkout.
#   packaging/bootstrap.sh          runtime: Qt's X11 and OpenGL libraries, the Python packages
#   packaging/bootstrap.sh --test   also Xvfb, Mesa, Orthanc, dcmtk and the test tools
# Debian packages are installed only when missing (with sudo when not root); the virtual
# environment is refreshed only when pyproject.toml changed since the last run.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

runtime_packages=(
  libgl1 libegl1 libglx-mesa0 libegl-mesa0 libgl1-mesa-dri libxkbcommon-x11-0
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
  libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-xkb1 libfontconfig1 libdbus-1-3
  fonts-dejavu-core
)
test_packages=(xvfb xauth libosmesa6 orthanc dcmtk iproute2 openssl binutils)

packages=("${runtime_packages[@]}")
((want_test)) && packages+=("${test_packages[@]}")

python=${PYTHON:-}
if [[ -z "$python" ]]; then
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      python=$(command -v "$candidate")
      break
    fi
  done
fi
if [[ -z "$python" ]]; then
  echo "bootstrap: Python 3.11 or newer is required; install it (Debian 12: apt install python3)" >&2
  exit 1
fi
if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
  packages+=("python3-venv")
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "bootstrap: installing Debian packages: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

venv="$repo/.venv"
stamp="$venv/.installed-from"
extras=""
((want_test)) && extras="[test]"
fingerprint="$(sha256sum "$repo/pyproject.toml" | cut -c1-64)$extras"
if [[ ! -x "$venv/bin/python" ]]; then
  "$python" -m venv "$venv"
fi
if [[ ! -f "$stamp" ]] || ! grep -qx -- "$fingerprint" "$stamp"; then
  echo "bootstrap: installing Python packages into $venv" >&2
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -e "$repo$extras"
  echo "$fingerprint" > "$stamp"
fi
