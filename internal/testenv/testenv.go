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

// SharedORC is ../shared/testdata/orc beside the repository: ORC files
// written by Apache ORC itself.
func SharedORC(t testing.TB) string {
	t.Helper()
	return filepath.Join(RepoRoot(t), "..", "shared", "testdata", "orc")
}
