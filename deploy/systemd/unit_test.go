package systemd

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/committer"
)

const unitFile = "landfall@.service"

// unit is a parsed unit file: section → key → values in order (a key may
// repeat, as SystemCallFilter= does).
type unit map[string]map[string][]string

func (u unit) get(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

func parse(t *testing.T, b []byte) unit {
	t.Helper()
	u := unit{}
	var section string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: %q is neither a section nor key=value", unitFile, n, line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	return u
}

// TestUnit checks what landfall needs of its supervisor, which
// systemd-analyze cannot know: one config per instance, SIGTERM for the
// graceful stop and a stop timeout above its bound, restarts on failure,
// and the hardening that keeps a non-root process from changing the host.
func TestUnit(t *testing.T) {
	b, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	u := parse(t, b)
	svc := func(k string) string { return u.get("Service", k) }

	if got := svc("ExecStart"); !strings.Contains(got, " run --config /etc/landfall/%i.yaml") {
		t.Errorf("ExecStart=%s: want landfall run --config /etc/landfall/%%i.yaml (one config per logid)", got)
	}
	if got := svc("KillSignal"); got != "SIGTERM" {
		t.Errorf("KillSignal=%s, want SIGTERM (landfall's graceful stop)", got)
	}
	// The bound with the example config's warehouse.timeout, the default.
	ex, err := os.ReadFile("../../landfall.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := committer.ParseConfig(ex)
	if err != nil {
		t.Fatal(err)
	}
	bound := committer.StopBound(*cfg)
	if d, err := timespan(svc("TimeoutStopSec")); err != nil || d < bound {
		t.Errorf("TimeoutStopSec=%s (%v): want at least landfall's graceful-stop bound %v", svc("TimeoutStopSec"), err, bound)
	}
	if got := svc("Restart"); got != "on-failure" {
		t.Errorf("Restart=%s, want on-failure", got)
	}
	if svc("DynamicUser") != "yes" && (svc("User") == "" || svc("User") == "root") {
		t.Error("neither DynamicUser=yes nor a User= other than root")
	}
	for k, want := range map[string]string{"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes"} {
		if got := svc(k); got != want {
			t.Errorf("%s=%s, want %s", k, got, want)
		}
	}
	if v, ok := u["Service"]["CapabilityBoundingSet"]; !ok || v[len(v)-1] != "" {
		t.Errorf("CapabilityBoundingSet=%q, want empty: landfall needs no capability", v)
	}
	if u.get("Install", "WantedBy") == "" {
		t.Error("no [Install] WantedBy=: systemctl enable would do nothing")
	}
}

// timespan parses the systemd time spans the unit uses: plain seconds or
// a Go-style duration ("4min" as "4m").
func timespan(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s + "s"); err == nil {
		return d, nil
	}
	return time.ParseDuration(strings.ReplaceAll(s, "min", "m"))
}

// TestUnitVerify runs systemd-analyze verify on an instance of the unit
// (Debian's systemd package; e2e/deps/test-systemd-analyze.sh installs it)
// and fails on any complaint about it: verify exits 0 on an unknown key
// or a bad signal name and only warns, so its warnings count too.
// ExecStart points at a stand-in executable, since verify checks that the
// binary exists and this machine has none installed.
func TestUnitVerify(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze not installed: make test-deps (bash e2e/deps/test-systemd-analyze.sh) installs it")
	}
	b, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	stub := filepath.Join(dir, "landfall")
	if err := os.WriteFile(stub, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	b = bytes.ReplaceAll(b, []byte("/usr/local/bin/landfall"), []byte(stub))
	if err := os.WriteFile(filepath.Join(dir, unitFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	inst := filepath.Join(dir, "landfall@nginx_access.service")
	if err := os.Symlink(unitFile, inst); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", inst).CombinedOutput()
	var ours []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "landfall@") {
			ours = append(ours, l)
		}
	}
	if err != nil || len(ours) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
