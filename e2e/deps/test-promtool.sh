#!/usr/bin/env bash
# Installs Debian's prometheus package for its promtool, which deploy/'s
# test (deploy/rules_test.go) runs to check the alert rules' syntax and
# their unit tests, if promtool is not already on PATH.
set -euo pipefail
if command -v promtool >/dev/null 2>&1; then
	exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends prometheus
command -v promtool >/dev/null
