#!/usr/bin/env bash
# Fetches the Apache ORC tools uber jar, which writer/orc's interoperability
# tests and benchmark run as `java -jar`, into .cache/orc-tools unless it is
# already there. The version is pinned so that test output is reproducible;
# 2.1.2 is the newest 2.x release whose maven-metadata.xml lists it on the
# Maven Central we reach; bump ORC_TOOLS_VERSION when a newer one is there.
set -euo pipefail
ORC_TOOLS_VERSION="${ORC_TOOLS_VERSION:-2.1.2}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="$ROOT/.cache/orc-tools"
JAR="$DIR/orc-tools-$ORC_TOOLS_VERSION-uber.jar"
if [ -s "$JAR" ]; then
	exit 0
fi
# Java runs the jar and Maven fetches it: Debian's, when they are missing.
if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
	command -v apt-get >/dev/null 2>&1 || { echo "test-orc-tools: java and mvn are needed (a JRE 17+ and Maven) and this is not a Debian system to install them on" >&2; exit 1; }
	SUDO=""
	if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
	echo "test-orc-tools: installing a Java runtime and Maven (Debian's default-jre-headless, maven)" >&2
	$SUDO apt-get update
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y default-jre-headless maven
fi
mkdir -p "$DIR"
mvn -q dependency:copy \
	-Dartifact="org.apache.orc:orc-tools:$ORC_TOOLS_VERSION:jar:uber" \
	-DoutputDirectory="$DIR"
test -s "$JAR"
