package writer_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/landfall/landfall/writer"
	"github.com/landfall/landfall/writer/fsys"
)

func TestPartRollsDurableTextFiles(t *testing.T) {
	for _, comp := range []string{"none", "zstd"} {
		t.Run(comp, func(t *testing.T) {
			fs, err := fsys.NewLocal(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			f, err := writer.NewText(comp)
			if err != nil {
				t.Fatal(err)
			}
			p, err := writer.Create(fs, f, "staging/a"+f.Ext())
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			for i := 0; i < 50000; i++ {
				line := strings.Repeat("x", i%300)
				if err := p.Append([]byte(line)); err != nil {
					t.Fatal(err)
				}
				want.WriteString(line + "\n")
			}
			err = p.Append([]byte("two\nlines"))
			var re *writer.RecordError
			if !errors.Is(err, writer.ErrInvalidRecord) || !errors.As(err, &re) || re.Reason != "record contains a newline" {
				t.Fatalf("record with a newline: %v", err)
			}
			r, err := p.Roll(map[string]string{"k": "v"})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			if r.Rows != 50000 {
				t.Fatalf("rolled %d rows, want 50000 (the rejected record must not count)", r.Rows)
			}
			st, err := fs.Stat("staging/a" + f.Ext())
			if err != nil || st.Size() != r.Size {
				t.Fatalf("file is %v bytes, Roll said %d (%v)", st.Size(), r.Size, err)
			}
			rd, err := fs.Open("staging/a" + f.Ext())
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			var src io.Reader = rd
			if comp == "zstd" {
				z, err := zstd.NewReader(rd)
				if err != nil {
					t.Fatal(err)
				}
				defer z.Close()
				src = z
			}
			got, err := io.ReadAll(src)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("read back %d bytes, want %d", len(got), want.Len())
			}
		})
	}
}

func TestNewTextRejectsUnknownCompression(t *testing.T) {
	if _, err := writer.NewText("gzip"); err == nil {
		t.Fatal("gzip accepted")
	}
}
