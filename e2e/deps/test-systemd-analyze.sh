#!/usr/bin/env bash
# Installs Debian's systemd (for systemd-analyze), which deploy/systemd's
# test runs to verify landfall@.service, if it is not already on PATH.
# Nothing is started: verify only reads unit files.
set -euo pipefail
if command -v systemd-analyze >/dev/null 2>&1; then
	exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends systemd
command -v systemd-analyze >/dev/null
