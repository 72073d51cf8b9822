package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/landfall/landfall/internal/testenv"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// landfallBinary builds bin/landfall the way users do, with make build, into
// a directory of its own, once per test binary.
func landfallBinary(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make not on PATH: install it (apt-get install make); the version is stamped by make build")
	}
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "landfall-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "landfall")
		cmd := exec.Command("make", "-s", "build", "BIN="+binPath)
		cmd.Dir = testenv.RepoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("make build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func runBinary(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	cmd := exec.Command(landfallBinary(t), args...)
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// TestVersionIsStamped: make build stamps git describe into the binary, and
// both --version and version print it (issue 16: --version failed, version
// printed dev, and so did every file's landfall.version).
func TestVersionIsStamped(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git not on PATH: install it; make build stamps the version from git describe")
	}
	cmd := exec.Command("git", "describe", "--always", "--dirty")
	cmd.Dir = testenv.RepoRoot(t)
	want, err := cmd.Output()
	if err != nil {
		t.Fatalf("not a git checkout (%v): run the tests from a clone, where make build stamps git describe", err)
	}
	for _, arg := range []string{"--version", "version"} {
		out, errOut, code := runBinary(t, arg)
		if code != 0 || strings.TrimSpace(out) != "landfall "+strings.TrimSpace(string(want)) {
			t.Errorf("landfall %s: exit %d, %q (stderr %q); want \"landfall %s\"", arg, code, out, errOut, strings.TrimSpace(string(want)))
		}
	}
}

// TestHelpSaysEnough: --help names every command, the logging flags, where
// the keys are and what the signals do, on stdout with status 0.
func TestHelpSaysEnough(t *testing.T) {
	out, _, code := runBinary(t, "--help")
	if code != 0 {
		t.Fatalf("--help exits %d", code)
	}
	for _, want := range []string{"run", "quickstart", "hive ddl", "hive create", "version", "--log-format", "landfall.example.yaml", "SIGTERM", "SIGKILL", "exit status"} {
		if !strings.Contains(out, want) {
			t.Errorf("--help does not mention %s:\n%s", want, out)
		}
	}
}

// TestLogFormatJSON: run --log-format json logs one JSON object a line on
// stderr, here while it retries an unreachable etcd.
func TestLogFormatJSON(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "landfall.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, `
logid: json
kafka: {brokers: ["127.0.0.1:1"], topic: logs}
etcd: {endpoints: ["http://%s"], connect_timeout: 2s}
warehouse: {uri: "file://%s"}
event_time: {field: ts}
`, closedPort(t), dir), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runBinary(t, "run", "--config", cfg, "--log-format", "json")
	if code != 1 {
		t.Fatalf("exit %d with etcd unreachable, want 1; stderr:\n%s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if len(lines) < 3 {
		t.Fatalf("want log lines and the error; stderr:\n%s", errOut)
	}
	for _, l := range lines[:len(lines)-1] { // the last is the exit error
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["msg"] == nil || m["level"] == nil {
			t.Fatalf("not a JSON log line: %q (%v)", l, err)
		}
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "landfall: state: etcd unreachable") {
		t.Fatalf("last line %q, want the exit error", last)
	}
}

// TestHiveCreateLogsLikeRun: hive create takes the same logging flags as
// run and logs through the same handler (it used to log through the
// standard library's default logger, in another format).
func TestHiveCreateLogsLikeRun(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "landfall.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, `
logid: hivelog
kafka: {brokers: ["127.0.0.1:1"], topic: logs}
etcd: {endpoints: ["http://127.0.0.1:1"]}
warehouse: {uri: "file://%s"}
event_time: {field: ts}
hive: {metastore: {uris: ["thrift://%s"], connect_timeout: 1s, retry: {attempts: 2, initial_backoff: 10ms}}}
`, dir, closedPort(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runBinary(t, "hive", "create", "--config", cfg, "--log-format", "json")
	if code != 1 {
		t.Fatalf("exit %d with the metastore unreachable, want 1; stderr:\n%s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if len(lines) < 2 {
		t.Fatalf("no log line before the error; stderr:\n%s", errOut)
	}
	for _, l := range lines[:len(lines)-1] {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["msg"] == nil {
			t.Fatalf("hive create logged %q, not JSON like run --log-format json (%v)", l, err)
		}
	}
}
