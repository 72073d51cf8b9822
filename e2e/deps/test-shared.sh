#!/usr/bin/env bash
# Checks that the shared directory is where the tests look for it. It is
# not part of this repository: every landfall developer and CI run has it
# beside the clone, at ../shared (DESIGN.md, STYLE.md, and testdata/orc: ORC
# files written by Apache ORC's Java and C++ writers, which writer/orc's
# tests read). It can't be installed from here; a clone elsewhere points
# LANDFALL_SHARED at it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SHARED="${LANDFALL_SHARED:-$ROOT/../shared}"
if [ -f "$SHARED/testdata/orc/MANIFEST.md" ]; then
	exit 0
fi
cat >&2 <<MSG
test-shared: $SHARED/testdata/orc/MANIFEST.md not found.
  make test reads ORC files written by Apache ORC itself from the shared
  directory that every landfall developer and CI has beside the clone, at
  ../shared (with DESIGN.md and STYLE.md). Put it there, or set
  LANDFALL_SHARED=/path/to/shared.
MSG
exit 1
