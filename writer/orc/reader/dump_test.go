package reader

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDump(t *testing.T) {
	name := os.Getenv("ORC_DUMP")
	if name == "" {
		return
	}
	path := filepath.Join(testdataDir(t), name)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Open(bytesReaderAt(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ps %+v", *f.PostScript())
	t.Logf("schema %v rows %d", f.Schema(), f.NumRows())
	for i := range f.Stripes() {
		s, err := f.Stripe(i)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("stripe %d rows %d tz %q enc %+v", i, s.Info.NumberOfRows, s.Footer.WriterTimezone, s.Footer.Columns)
		for _, st := range s.Streams {
			t.Logf("  %v col %d off %d len %d", st.Kind, st.Column, st.Offset, st.Length)
		}
		if len(s.Footer.Encryption) > 0 {
			t.Logf("  encryption %+v", s.Footer.Encryption)
		}
		if i > 1 {
			break
		}
	}
	rows, err := f.Rows()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		if n < 5 {
			t.Logf("row %v", rows.Value())
		}
		n++
	}
	t.Logf("rows %d err %v", n, rows.Err())
}
