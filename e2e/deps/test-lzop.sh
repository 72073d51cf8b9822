#!/usr/bin/env bash
# Installs Debian's lzop, which writer/lzo's interoperability tests run, if it
# is not already on PATH.
set -euo pipefail
if command -v lzop >/dev/null 2>&1; then
	exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y lzop
command -v lzop >/dev/null
