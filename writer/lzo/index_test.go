package lzo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// checkIndex proves an index against its file: every entry is where a block
// starts when the file is walked, no block is missing, and reading from each
// entry alone yields a block whose checksums hold.
func checkIndex(t *testing.T, name string, file, index []byte) {
	t.Helper()
	walked, err := BuildIndex(bytes.NewReader(file))
	if err != nil {
		t.Fatalf("%s: walk: %v", name, err)
	}
	if !bytes.Equal(walked, index) {
		t.Fatalf("%s: index has %d entries, walking the file finds %d, or they differ", name, len(index)/8, len(walked)/8)
	}
	offs, err := ParseIndex(index)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	zr, err := NewReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	hdr := zr.Header()
	for i, off := range offs {
		b, err := ReadBlockAt(bytes.NewReader(file), off, hdr)
		if err != nil {
			t.Fatalf("%s: entry %d (offset %d): %v", name, i, off, err)
		}
		if _, err := b.Decompress(nil); err != nil {
			t.Fatalf("%s: entry %d (offset %d): %v", name, i, off, err)
		}
		if next := off + b.EncodedLen(); i+1 < len(offs) && next != offs[i+1] {
			t.Fatalf("%s: block %d ends at %d, next entry is %d", name, i, next, offs[i+1])
		}
	}
	// After the last block comes the end marker.
	end := int64(len(file)) - 4
	if len(offs) > 0 {
		b, _ := ReadBlockAt(bytes.NewReader(file), offs[len(offs)-1], hdr)
		if got := offs[len(offs)-1] + b.EncodedLen(); got != end {
			t.Fatalf("%s: last block ends at %d, end marker is at %d", name, got, end)
		}
	}
	if _, err := ReadBlockAt(bytes.NewReader(file), end, hdr); !errors.Is(err, io.EOF) {
		t.Fatalf("%s: reading at the end marker: %v, want io.EOF", name, err)
	}
}

func TestWriterIndex(t *testing.T) {
	for name, in := range containerCases() {
		for _, opts := range [][]WriterOption{nil, {WithBlockSize(4096), WithChecksums(FlagCRC32D | FlagAdler32C)}} {
			file, index := writeLzop(t, in, opts...)
			if len(in) == 0 && len(index) != 0 {
				t.Fatalf("%s: empty input has index entries", name)
			}
			checkIndex(t, name, file, index)
		}
	}
}

// TestIndexOfLzopFiles walks files lzop made: the walker that checks our
// writer's index must agree with a writer it didn't come from.
func TestIndexOfLzopFiles(t *testing.T) {
	in := append(logText(1<<20, 5), randomBytes(600_000, 5)...)
	file := runLzop(t, in, "-1", "-c", "--crc32")
	index, err := BuildIndex(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	// lzop's own blocks are 256 KiB (MaxWriteBlockSize), not ours.
	if n, want := len(index)/8, (len(in)+MaxWriteBlockSize-1)/MaxWriteBlockSize; n != want {
		t.Fatalf("lzop file of %d bytes: %d blocks, want %d", len(in), n, want)
	}
	checkIndex(t, "lzop -1", file, index)
}

func TestParseIndexRejectsGarbage(t *testing.T) {
	for name, b := range map[string][]byte{
		"partial entry": make([]byte, 9),
		"descending":    binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, 100), 50),
		"repeated":      binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, 100), 100),
		"huge":          binary.BigEndian.AppendUint64(nil, 1<<63),
	} {
		if _, err := ParseIndex(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
