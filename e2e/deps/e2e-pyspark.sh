#!/usr/bin/env bash
# Makes pyspark (PyPI) importable for e2e/spark_test.go, which reads the
# tables landfall registered through the e2e metastore with Spark SQL. It
# goes into a virtual environment under .cache/pyspark-venv, never into the
# system Python (Debian's refuses `pip install`, PEP 668). The wheel carries
# Spark's jars; Java 17 is the e2e JVM. Prints nothing when it is there.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.cache/pyspark-venv"
PYSPARK_VERSION="${PYSPARK_VERSION:-4.3.0}"
if [ -x "$VENV/bin/python3" ] && "$VENV/bin/python3" -c "import pyspark, sys; sys.exit(pyspark.__version__ != '$PYSPARK_VERSION')" >/dev/null 2>&1; then
	exit 0
fi
command -v python3 >/dev/null 2>&1 || { echo "e2e-pyspark: python3 is not on PATH (apt-get install python3 python3-venv)" >&2; exit 1; }
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
	if command -v apt-get >/dev/null 2>&1; then
		SUDO=""
		if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
		$SUDO apt-get update
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y python3-venv
	else
		echo "e2e-pyspark: python3 can't make a virtual environment; install python3's venv module (Debian: python3-venv)" >&2
		exit 1
	fi
fi
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/python3" -m pip install --quiet "pyspark==$PYSPARK_VERSION"
"$VENV/bin/python3" -c 'import pyspark'
