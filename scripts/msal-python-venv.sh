#!/usr/bin/env bash
# A Python venv with MSAL Python pinned (scripts/msal-python-requirements.txt), for the interop
# tests. Created when missing or when its msal is not the pinned version, reused otherwise, as
# bench/peers/run.sh does for its own venv.
#
#   scripts/msal-python-venv.sh     # prints MSAL_PYTHON=<the venv's python> on stdout
#
# The venv lives in target/msal-python-venv (or $MSAL_PYTHON_VENV). The interop tests run when
# MSAL_PYTHON is set (or that default venv exists) and say they are skipped otherwise.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${MSAL_PYTHON_VENV:-$root/target/msal-python-venv}"
requirements="$root/scripts/msal-python-requirements.txt"
want="$(sed -n 's/^msal==//p' "$requirements")"
if ! "$venv/bin/python" -c "import msal, requests; assert msal.__version__ == '$want'" 2>/dev/null; then
    echo "== installing MSAL Python $want into $venv" >&2
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
fi
echo "MSAL_PYTHON=$venv/bin/python"
