package lzo

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// copyAll copies every block of an lzop file into w.
func copyAll(t *testing.T, w *Writer, file []byte) error {
	t.Helper()
	r, err := NewReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := w.CopyBlock(b); err != nil {
			return err
		}
	}
}

// TestCopyBlockMerges merges files the way a compactor will: blocks of one
// of ours with other checksums, of one of lzop's, and records written in
// between, into one file that lzop reads back whole.
func TestCopyBlockMerges(t *testing.T) {
	a := logText(700_000, 31)
	fileA, _ := writeLzop(t, a, WithChecksums(FlagCRC32D|FlagCRC32C))
	b := append(randomBytes(300_000, 32), logText(400_000, 32)...)
	fileB := runLzop(t, b, "-1", "-c")
	middle := []byte("a record written between the copies\n")

	for _, flags := range []uint32{FlagAdler32D, FlagAdler32D | FlagAdler32C | FlagCRC32D | FlagCRC32C} {
		var out bytes.Buffer
		w, err := NewWriter(&out, WithChecksums(flags))
		if err != nil {
			t.Fatal(err)
		}
		if err := copyAll(t, w, fileA); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(middle); err != nil {
			t.Fatal(err)
		}
		if err := copyAll(t, w, fileB); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		want := append(append(append([]byte{}, a...), middle...), b...)
		if got := runLzop(t, out.Bytes(), "-d", "-c"); !bytes.Equal(got, want) {
			t.Fatalf("flags %#x: lzop -d of the merged file differs", flags)
		}
		runLzop(t, out.Bytes(), "-t")
		checkIndex(t, "merged", out.Bytes(), w.Index())
	}
}

func TestCopyBlockRejectsCorruptBlocks(t *testing.T) {
	file, _ := writeLzop(t, logText(100_000, 33), WithChecksums(FlagAdler32D|FlagAdler32C))
	r, err := NewReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	blk, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	blk.Data[len(blk.Data)/2] ^= 0x40
	w, err := NewWriter(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.CopyBlock(blk); !errors.Is(err, ErrChecksum) {
		t.Fatalf("copy of a corrupted block: %v, want ErrChecksum", err)
	}
	// Without a compressed-data checksum in the source, a checksum the
	// writer must add is computed by decompressing, which catches it too.
	file, _ = writeLzop(t, logText(100_000, 33), WithChecksums(FlagAdler32D))
	r, _ = NewReader(bytes.NewReader(file))
	blk, _ = r.Next()
	blk.Data[len(blk.Data)/2] ^= 0x40
	w, _ = NewWriter(io.Discard, WithChecksums(FlagCRC32D))
	if err := w.CopyBlock(blk); err == nil {
		t.Fatal("copy of a corrupted block into a writer that needs a new checksum: no error")
	}
}
