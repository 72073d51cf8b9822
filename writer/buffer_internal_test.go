package writer

import (
	"bytes"
	"testing"
)

// TestBufferWritesThroughInChunks: when a file can't get even the minimum
// (the files that would give memory back are busy in other goroutines),
// its data goes out unbuffered, still in chunks no bigger than max: an lzo
// block must never exceed what lzop reads.
func TestBufferWritesThroughInChunks(t *testing.T) {
	b := NewBudget(64 << 10)
	busy := func() *Account {
		a := b.Open(func() { t.Error("a busy file was spilled") })
		a.Lock() // another goroutine is appending to it
		t.Cleanup(a.Unlock)
		return a
	}
	other := busy()
	a := b.Open(func() {})
	a.Lock()
	var got bytes.Buffer
	var chunks []int
	var buf Buffer
	buf.Init(a, 32<<10, func(p []byte) error {
		chunks = append(chunks, len(p))
		got.Write(p)
		return nil
	})
	data := bytes.Repeat([]byte("0123456789abcdef"), 8<<10)
	// Two files share 64 KiB: the buffer grows to 32 KiB and fills up.
	for _, p := range [][]byte{data[:20<<10], data[20<<10 : 32<<10]} {
		if err := buf.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	if !a.Grow(16<<10) || !other.Grow(16<<10) { // say, lzo's write buffer
		t.Fatal("no room within the budget")
	}
	// Two more busy files take their 16 KiB minimum: the budget is over.
	for range 2 {
		if !busy().Grow(16 << 10) {
			t.Fatal("a file was refused its minimum")
		}
	}
	// The share is now 16 KiB: the full buffer is written and freed, and
	// there is no memory for a new one.
	if err := buf.Write(data[32<<10:]); err != nil {
		t.Fatal(err)
	}
	if err := buf.Free(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatal("data lost or reordered")
	}
	if len(chunks) != 4 || chunks[0] != 32<<10 {
		t.Fatalf("chunks %v: want the buffer, then the rest unbuffered", chunks)
	}
	for i, n := range chunks {
		if n > 32<<10 {
			t.Fatalf("chunk %d of %v is %d bytes, more than max", i, chunks, n)
		}
	}
	if a.Held() != 16<<10 {
		t.Fatalf("the file holds %d, want just its other buffer", a.Held())
	}
}
