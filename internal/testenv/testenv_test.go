package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSharedCheckExplains: make test's check of the shared directory fails
// naming what is missing and how to provide it, and passes when
// LANDFALL_SHARED points at one (issue 16: make test silently needed
// ../shared).
func TestSharedCheckExplains(t *testing.T) {
	script := filepath.Join(RepoRoot(t), "e2e", "deps", "test-shared.sh")
	check := func(shared string) (string, error) {
		cmd := exec.Command("bash", script)
		cmd.Env = append(os.Environ(), "LANDFALL_SHARED="+shared)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := check(t.TempDir())
	if err == nil {
		t.Fatal("the check passed without the shared directory")
	}
	for _, want := range []string{"../shared", "LANDFALL_SHARED", "testdata/orc"} {
		if !strings.Contains(out, want) {
			t.Errorf("the check's message does not mention %s:\n%s", want, out)
		}
	}
	shared := t.TempDir()
	if err := os.MkdirAll(filepath.Join(shared, "testdata", "orc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shared, "testdata", "orc", "MANIFEST.md"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := check(shared); err != nil {
		t.Fatalf("the check failed with LANDFALL_SHARED set: %v\n%s", err, out)
	}
	t.Setenv("LANDFALL_SHARED", shared)
	if got := SharedORC(t); got != filepath.Join(shared, "testdata", "orc") {
		t.Fatalf("SharedORC = %s with LANDFALL_SHARED=%s", got, shared)
	}
}
