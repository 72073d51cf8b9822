#!/usr/bin/env bash
# Makes pyarrow importable for writer/orc's interoperability test, which
# reads the ORC files landfall writes with it (Apache ORC's C++ reader).
# A system python3 that has it is used as it is. Otherwise pyarrow goes into
# a virtual environment under .cache/pyarrow-venv, never into the system
# Python: Debian's refuses `pip install` (PEP 668, "externally managed"), and
# installing over it could break the distribution's own packages. The tests
# use .cache/pyarrow-venv/bin/python3 when it exists (internal/testenv).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.cache/pyarrow-venv"
if python3 -c 'import pyarrow.orc' >/dev/null 2>&1; then
	exit 0
fi
if [ -x "$VENV/bin/python3" ] && "$VENV/bin/python3" -c 'import pyarrow.orc' >/dev/null 2>&1; then
	exit 0
fi
command -v python3 >/dev/null 2>&1 || { echo "test-pyarrow: python3 is not on PATH (apt-get install python3 python3-venv)" >&2; exit 1; }
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
	# Debian ships venv's pip bootstrap separately.
	if command -v apt-get >/dev/null 2>&1; then
		SUDO=""
		if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
		$SUDO apt-get update
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y python3-venv
	else
		echo "test-pyarrow: python3 can't make a virtual environment; install python3's venv module (Debian: python3-venv)" >&2
		exit 1
	fi
fi
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/python3" -m pip install --quiet pyarrow
"$VENV/bin/python3" -c 'import pyarrow.orc'
