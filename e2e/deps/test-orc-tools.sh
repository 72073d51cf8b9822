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
command -v java >/dev/null 2>&1 || { echo "test-orc-tools: java is not on PATH (apt-get install openjdk-17-jre-headless)" >&2; exit 1; }
command -v mvn >/dev/null 2>&1 || { echo "test-orc-tools: mvn is not on PATH (apt-get install maven)" >&2; exit 1; }
mkdir -p "$DIR"
mvn -q dependency:copy \
	-Dartifact="org.apache.orc:orc-tools:$ORC_TOOLS_VERSION:jar:uber" \
	-DoutputDirectory="$DIR"
test -s "$JAR"
