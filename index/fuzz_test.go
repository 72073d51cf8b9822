package index

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// FuzzDecodeEntry: whatever the bytes, decoding ends in an entry or an
// error — never a panic — and what decodes re-encodes to an equal entry.
// The seeds in testdata/fuzz/FuzzDecodeEntry are a valid entry, entries
// with unknown fields and kinds, and truncated or damaged ones.
func FuzzDecodeEntry(f *testing.F) {
	for _, n := range []uint64{1, 360} {
		b, err := encode(testEntry(n), kindEntry)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Fuzz(func(t *testing.T, b []byte) { fuzzDecode(t, b, kindEntry) })
}

// FuzzDecodeSnapshot is FuzzDecodeEntry for snapshot files.
func FuzzDecodeSnapshot(f *testing.F) {
	live := newLiveSet()
	for n := uint64(1); n <= 3; n++ {
		live.apply(testEntry(n * 180))
	}
	s := live.entry()
	s.N, s.LogID = 540, "clicks"
	b, err := encode(s, kindSnapshot)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:len(b)-3])
	f.Fuzz(func(t *testing.T, b []byte) { fuzzDecode(t, b, kindSnapshot) })
}

func fuzzDecode(t *testing.T, b []byte, k kind) {
	e, err := decode(bytes.NewReader(b), k)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNewerFormat) {
			t.Fatalf("decode error is neither ErrCorrupt nor ErrNewerFormat: %v", err)
		}
		return
	}
	// Every action took a line of at least a few bytes: nothing decoded
	// is bigger than its input allows.
	if len(e.Actions)+e.Unknown > len(b)/8 {
		t.Fatalf("%d actions from %d bytes", len(e.Actions)+e.Unknown, len(b))
	}
	e.Unknown = 0
	again, err := encode(e, k)
	if err != nil {
		t.Fatalf("a decoded %s does not encode: %v", k, err)
	}
	e2, err := decode(bytes.NewReader(again), k)
	if err != nil {
		t.Fatalf("re-encoded %s does not decode: %v\n%s", k, err, again)
	}
	normalize(e)
	normalize(e2)
	if !reflect.DeepEqual(e, e2) {
		t.Fatalf("round trip changed the %s:\n%+v\n%+v", k, e, e2)
	}
}

// normalize makes empty and nil collections equal, which JSON can't tell
// apart.
func normalize(e *Entry) {
	for _, a := range e.Actions {
		if f := a.file(); f != nil {
			if len(f.Offsets) == 0 {
				f.Offsets = nil
			}
			if len(f.Sidecars) == 0 {
				f.Sidecars = nil
			}
		}
	}
}
