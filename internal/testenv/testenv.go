// Package testenv locates what tests need outside their package: the
// module root and the shared test data beside it.
package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot is the directory holding go.mod, found upward from the test's
// working directory (its package directory).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// Shared is the shared directory that every landfall developer and CI has
// beside the clone, at ../shared (DESIGN.md, STYLE.md, testdata/): not part
// of the repository. LANDFALL_SHARED points elsewhere. A test that needs it
// fails saying so rather than passing over nothing.
func Shared(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("LANDFALL_SHARED")
	if dir == "" {
		dir = filepath.Join(RepoRoot(t), "..", "shared")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the shared directory (../shared beside the clone, with testdata/orc: ORC files written by Apache ORC) is missing: %v; put it there or set LANDFALL_SHARED", err)
	}
	return dir
}

// SharedORC is testdata/orc of the shared directory: ORC files written by
// Apache ORC itself.
func SharedORC(t testing.TB) string {
	t.Helper()
	return filepath.Join(Shared(t), "testdata", "orc")
}

// Python3 is the python3 that can import pyarrow: the virtual environment
// e2e/deps/test-pyarrow.sh makes under .cache when the system's can't
// (Debian's refuses pip installs), else the one on PATH.
func Python3(t testing.TB) string {
	t.Helper()
	venv := filepath.Join(RepoRoot(t), ".cache", "pyarrow-venv", "bin", "python3")
	if _, err := os.Stat(venv); err == nil {
		return venv
	}
	return "python3"
}
