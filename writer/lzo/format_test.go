package lzo

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/landfall/landfall/writer"
)

// closeRecorder fails the test if the encoder closes the file it writes to:
// the caller closes files itself, asynchronously.
type closeRecorder struct {
	bytes.Buffer
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func newTestFormat(t *testing.T, opts ...WriterOption) *Format {
	t.Helper()
	f, err := NewFormat(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFormatNames(t *testing.T) {
	f := newTestFormat(t)
	if f.Name() != "lzo" || f.Ext() != ".lzo" {
		t.Fatalf("Name, Ext = %q, %q", f.Name(), f.Ext())
	}
	for _, bad := range []WriterOption{WithBlockSize(0), WithBlockSize(MaxWriteBlockSize + 1)} {
		if _, err := NewFormat(bad); err == nil || !strings.Contains(err.Error(), "block size") {
			t.Errorf("bad block size: error %v, want one naming the block size", err)
		}
	}
}

func TestFormatWritesLines(t *testing.T) {
	f := newTestFormat(t, WithBlockSize(10_000))
	var out closeRecorder
	enc, err := f.NewEncoder(&out)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	lines := bytes.Split(logText(200_000, 8), []byte("\n"))
	lines = append(lines, []byte{}, bytes.Repeat([]byte("x"), 25_000)) // empty, longer than a block
	for _, l := range lines {
		if err := enc.Append(l); err != nil {
			t.Fatal(err)
		}
		want.Write(l)
		want.WriteByte('\n')
	}
	if err := enc.Close(map[string]string{"landfall.version": "test"}); err != nil {
		t.Fatal(err)
	}
	if out.closed {
		t.Fatal("encoder closed the underlying writer")
	}
	if got := readAll(t, out.Bytes()); !bytes.Equal(got, want.Bytes()) {
		t.Fatal("our reader: lines differ")
	}
	if got := runLzop(t, out.Bytes(), "-d", "-c"); !bytes.Equal(got, want.Bytes()) {
		t.Fatal("lzop -d: lines differ")
	}
	sc := enc.(writer.Sidecars).Sidecars()
	if len(sc) != 1 || sc[0].Suffix != ".index" {
		t.Fatalf("sidecars = %+v, want one with suffix .index", sc)
	}
	checkIndex(t, "format", out.Bytes(), sc[0].Data)
}

func TestFormatRejectsNewline(t *testing.T) {
	f := newTestFormat(t)
	write := func(recs ...string) ([]byte, []error) {
		var out bytes.Buffer
		enc, err := f.NewEncoder(&out)
		if err != nil {
			t.Fatal(err)
		}
		var errs []error
		for _, r := range recs {
			errs = append(errs, enc.Append([]byte(r)))
		}
		if err := enc.Close(nil); err != nil {
			t.Fatal(err)
		}
		return out.Bytes(), errs
	}
	withBad, errs := write("a", "b\nc", "d", "\n")
	clean, _ := write("a", "d")
	for i, want := range []bool{false, true, false, true} {
		var re *writer.RecordError
		switch {
		case want && (!errors.Is(errs[i], writer.ErrInvalidRecord) || !errors.As(errs[i], &re) || re.Reason != "record contains a newline"):
			t.Errorf("record %d: error %v, want a RecordError with reason %q", i, errs[i], "record contains a newline")
		case !want && errs[i] != nil:
			t.Errorf("record %d: %v", i, errs[i])
		}
	}
	if !bytes.Equal(withBad, clean) {
		t.Fatal("a rejected record left bytes in the file")
	}
}

// TestFormatConcurrentEncoders runs encoders of one Format in parallel:
// they share a pool of compressor state, and must not share anything else.
func TestFormatConcurrentEncoders(t *testing.T) {
	f := newTestFormat(t, WithBlockSize(8192))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out, want bytes.Buffer
			enc, err := f.NewEncoder(&out)
			if err != nil {
				errs <- err
				return
			}
			for i := range 3000 {
				line := fmt.Sprintf(`{"encoder":%d,"line":%d,"pad":"%s"}`, g, i, strings.Repeat("z", i%50))
				if err := enc.Append([]byte(line)); err != nil {
					errs <- err
					return
				}
				want.WriteString(line + "\n")
			}
			if err := enc.Close(nil); err != nil {
				errs <- err
				return
			}
			r, err := NewReader(&out)
			if err != nil {
				errs <- err
				return
			}
			var got bytes.Buffer
			if _, err := got.ReadFrom(r); err != nil {
				errs <- err
				return
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				errs <- fmt.Errorf("encoder %d: data differs", g)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// failWriter fails every write after the first n bytes.
type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriterErrorsAreSticky(t *testing.T) {
	w, err := NewWriter(&failWriter{n: 1000}, WithBlockSize(4096))
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Write(logText(100_000, 1))
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("write: %v, want disk full", err)
	}
	if _, err2 := w.Write([]byte("x")); err2 == nil {
		t.Fatal("write after a failure succeeded")
	}
	if err := w.Close(); err == nil {
		t.Fatal("close after a failure succeeded")
	}
}

// TestFormatWithoutIndex: a Format for TextInputFormat tables makes no
// .lzo.index (that reader would read it as rows); the default makes one.
func TestFormatWithoutIndex(t *testing.T) {
	for _, c := range []struct {
		opts []WriterOption
		want int
	}{{nil, 1}, {[]WriterOption{WithoutIndex()}, 0}} {
		f := newTestFormat(t, c.opts...)
		var out bytes.Buffer
		enc, err := f.NewEncoder(&out)
		if err != nil {
			t.Fatal(err)
		}
		if err := enc.Append([]byte(`{"id":"a"}`)); err != nil {
			t.Fatal(err)
		}
		if err := enc.Close(nil); err != nil {
			t.Fatal(err)
		}
		sc := enc.(writer.Sidecars).Sidecars()
		if len(sc) != c.want || (c.want == 1 && sc[0].Suffix != IndexSuffix) {
			t.Errorf("options %d: sidecars %+v, want %d .lzo.index", len(c.opts), sc, c.want)
		}
	}
}
