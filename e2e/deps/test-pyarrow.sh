#!/usr/bin/env bash
# Installs pyarrow with pip, which writer/orc's interoperability test uses to
# read the ORC files landfall writes, unless python3 can already import it.
set -euo pipefail
if python3 -c 'import pyarrow.orc' >/dev/null 2>&1; then
	exit 0
fi
python3 -m pip install --quiet pyarrow
python3 -c 'import pyarrow.orc'
