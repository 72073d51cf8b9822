package lzo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
)

// hostileFile is a valid header followed by one block header with the given
// lengths and a few bytes of data.
func hostileFile(t *testing.T, ulen, clen uint32) []byte {
	t.Helper()
	var buf bytes.Buffer
	_, err := NewWriter(&buf, WithChecksums(0))
	if err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	b = binary.BigEndian.AppendUint32(b, ulen)
	b = binary.BigEndian.AppendUint32(b, clen)
	return append(b, bytes.Repeat([]byte{0x11, 0, 0}, 30)...)
}

// TestReaderBoundsAllocation feeds block lengths that lie: the reader must
// fail without allocating what they claim.
func TestReaderBoundsAllocation(t *testing.T) {
	for _, c := range []struct {
		name       string
		ulen, clen uint32
	}{
		{"over the block limit", MaxBlockSize + 1, 100},
		{"truncated 64 MiB block", MaxBlockSize, MaxBlockSize - 1},
		{"impossible ratio", MaxBlockSize, 90},
		{"compressed longer than uncompressed", 100, 101},
	} {
		file := hostileFile(t, c.ulen, c.clen)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		r, err := NewReader(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(io.Discard, r)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: error %v, want ErrCorrupt", c.name, err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
			t.Errorf("%s: allocated %d bytes reading a %d-byte file", c.name, alloc, len(file))
		}
	}
}

func TestReaderRejectsBadHeaders(t *testing.T) {
	good, _ := writeLzop(t, []byte("x\n"))
	for name, mutate := range map[string]func([]byte){
		"magic":           func(b []byte) { b[1] = 'X' },
		"checksum":        func(b []byte) { b[len(magic)+20] ^= 1 },
		"method":          func(b []byte) { b[len(magic)+6] = 9 },
		"version needed":  func(b []byte) { b[len(magic)+4] = 0x20 },
		"truncated":       func(b []byte) {},
		"multipart flags": func(b []byte) { b[len(magic)+10] |= 0x04 },
	} {
		b := append([]byte{}, good...)
		mutate(b)
		if name == "truncated" {
			b = b[:20]
		}
		if _, err := NewReader(bytes.NewReader(b)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestReaderRequiresEndMarker(t *testing.T) {
	file, _ := writeLzop(t, logText(10_000, 1))
	r, err := NewReader(bytes.NewReader(file[:len(file)-4]))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, r); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("file without end marker: %v, want ErrCorrupt", err)
	}
	r, _ = NewReader(bytes.NewReader(file))
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, logText(10_000, 1)) {
		t.Fatalf("intact file: %v", err)
	}
}
