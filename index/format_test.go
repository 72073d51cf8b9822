package index

import (
	"os"
	"path"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestFormatExample keeps FORMAT.md's worked example true: its entries
// decode, the snapshot Snapshot builds from them has the documented
// actions, and the three readers it describes get what it says.
func TestFormatExample(t *testing.T) {
	doc, err := os.ReadFile("FORMAT.md")
	if err != nil {
		t.Fatal(err)
	}
	ex := string(doc[strings.Index(string(doc), "## Worked example"):])
	blocks := regexp.MustCompile("(?ms)^`([^`\n]+)`[^\n]*\n\n```json\n(.*?)```").FindAllStringSubmatch(ex, -1)
	files := map[string]string{}
	for _, b := range blocks {
		files[path.Base(b[1])] = b[2]
	}
	f := newLocal(t)
	dir := Dir("clicks")
	for n := uint64(1); n <= 3; n++ {
		body, ok := files[entryName(n)]
		if !ok {
			t.Fatalf("FORMAT.md has no example of %s (found %v)", entryName(n), len(files))
		}
		if err := writeFile(f, path.Join(dir, entryName(n)), []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	l := NewLog(f, "clicks")
	if err := l.Snapshot(3); err != nil {
		t.Fatal(err)
	}
	r := Open(f, "clicks")
	built, err := r.snapshot(3)
	if err != nil {
		t.Fatal(err)
	}
	documented, err := DecodeSnapshot(strings.NewReader(files[snapshotName(3)]))
	if err != nil {
		t.Fatalf("the documented snapshot: %v", err)
	}
	if !reflect.DeepEqual(built.Actions, documented.Actions) {
		t.Fatalf("snapshot built from the example entries differs from the documented one:\n%+v\n%+v", built.Actions, documented.Actions)
	}
	if _, err := decodePointer([]byte(files[pointerName])); err != nil {
		t.Fatalf("the documented pointer: %v", err)
	}
	records := func(c Cursor) (n int64, last uint64) {
		err := r.Follow(t.Context(), c, 0, func(e *Entry) error {
			last = e.N
			for _, a := range e.Actions {
				if a.Add != nil && a.Add.DataChange {
					n += a.Add.Rows
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return n, last
	}
	for _, c := range []struct {
		from  Cursor
		rows  int64
		saves uint64
	}{{After(0), 2380 + 31 + 1, 3}, {After(1), 1180, 3}, {Earliest, 2380 + 31 + 1, 3}} {
		if rows, last := records(c.from); rows != c.rows || last != c.saves {
			t.Errorf("from %s: %d records, cursor %d; FORMAT.md says %d and %d", c.from, rows, last, c.rows, c.saves)
		}
	}
}
