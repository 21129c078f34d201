#!/usr/bin/env bash
# Install what is needed, then open the bundled demo exam in the viewer.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$repo/packaging/bootstrap.sh"
exec "$repo/.venv/bin/mammo-workstation" --demo "$@"
