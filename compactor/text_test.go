package compactor

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/landfall/landfall/writer"
)

// writeText writes records with the pipeline's text format, as part files
// are written: compression "none" or "zstd".
func writeText(t testing.TB, compression string, data []byte) []byte {
	t.Helper()
	f, err := writer.NewText(compression)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc, err := f.NewEncoder(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if err := enc.Append(bytes.TrimSuffix(line, []byte("\n"))); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Close(nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func mergeTextBytes(t testing.TB, srcs [][]byte, compressed bool) ([]byte, error) {
	t.Helper()
	ss := make([]Source, len(srcs))
	for i, s := range srcs {
		ss[i] = bytes.NewReader(s)
	}
	var out bytes.Buffer
	res, err := MergeText(context.Background(), &out, ss, compressed)
	if err == nil && res.Size != int64(out.Len()) {
		t.Fatalf("result size %d, wrote %d", res.Size, out.Len())
	}
	return out.Bytes(), err
}

func TestMergeText(t *testing.T) {
	texts := [][]byte{textLines(10, 1), textLines(3000, 2), nil, textLines(1, 3)}
	var srcs [][]byte
	for _, x := range texts {
		srcs = append(srcs, writeText(t, "none", x))
	}
	merged, err := mergeTextBytes(t, srcs, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := bytes.Join(texts, nil); !bytes.Equal(merged, want) {
		t.Fatal("merged text is not the sources' concatenation")
	}
	if _, err := mergeTextBytes(t, [][]byte{srcs[0], []byte("cut short")}, false); !errors.Is(err, ErrBadSource) {
		t.Fatalf("merge of a text without its last newline: %v, want ErrBadSource", err)
	}
}

// TestMergeTextZstd merges multi-frame zstd files (the writer cuts frames
// at 1 MiB of text): klauspost's decoder and the zstd tool read the merged
// file as the sources' text concatenated.
func TestMergeTextZstd(t *testing.T) {
	texts := [][]byte{textLines(12000, 4), textLines(5, 5), textLines(800, 6)}
	var srcs [][]byte
	for _, x := range texts {
		srcs = append(srcs, writeText(t, "zstd", x))
	}
	merged, err := mergeTextBytes(t, srcs, true)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Join(texts, nil)
	d, err := zstd.NewReader(bytes.NewReader(merged))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var got bytes.Buffer
	if _, err := got.ReadFrom(d); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("klauspost zstd: %d bytes, want %d", got.Len(), len(want))
	}
	if _, err := exec.LookPath("zstd"); err == nil {
		cmd := exec.Command("zstd", "-d", "-c")
		cmd.Stdin = bytes.NewReader(merged)
		out, err := cmd.Output()
		if err != nil || !bytes.Equal(out, want) {
			t.Fatalf("zstd -d: %v, %d bytes, want %d", err, len(out), len(want))
		}
	}
	if _, err := mergeTextBytes(t, [][]byte{srcs[0], []byte("plain\n")}, true); !errors.Is(err, ErrBadSource) {
		t.Fatalf("merge of a plain file as zstd: %v, want ErrBadSource", err)
	}
}
