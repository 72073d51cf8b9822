package fsys

import "testing"

func TestLocalConformance(t *testing.T) {
	Conformance(t, func(t *testing.T) FS {
		l, err := NewLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return l
	})
}
