package writer

import (
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// TestZstdSlotCost checks zstdSlotCost, what the budget reserves for each
// shared zstd encoder, against what one really holds after compressing
// frames of text and of incompressible bytes (for its biggest output).
// For comparison it logs what the streaming encoder every open file had
// before budgets held.
func TestZstdSlotCost(t *testing.T) {
	text := []byte(strings.Repeat(`{"ts":1763700000000,"level":"info","msg":"request completed","path":"/api/v1/orders?id=12345"}`+"\n", zstdFrame/90))[:zstdFrame]
	noise := make([]byte, zstdFrame)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range noise {
		noise[i] = byte(r.Uint32())
	}
	const n = 8
	base := liveHeap()
	slots := make([]*zstdSlot, n)
	for i := range slots {
		p := &zstdPool{free: make(chan *zstdSlot, 1), left: 1}
		s := p.get()
		s.dst = s.enc.EncodeAll(text, s.dst[:0])
		s.dst = s.enc.EncodeAll(noise, s.dst[:0])
		slots[i] = s
	}
	per := (liveHeap() - base) / n
	runtime.KeepAlive(slots)
	t.Logf("a shared zstd encoder holds %.2f MiB; the budget reserves %.2f MiB", float64(per)/(1<<20), float64(zstdSlotCost)/(1<<20))
	if per > zstdSlotCost {
		t.Errorf("a shared zstd encoder holds %d bytes, more than the %d the budget reserves for it", per, zstdSlotCost)
	}

	base = liveHeap()
	encs := make([]*zstd.Encoder, n)
	for i := range encs {
		e, err := zstd.NewWriter(io.Discard, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
		if err != nil {
			t.Fatal(err)
		}
		for range 9 {
			e.Write(text)
		}
		encs[i] = e
	}
	t.Logf("the streaming encoder of a file before budgets held %.2f MiB", float64((liveHeap()-base)/n)/(1<<20))
	runtime.KeepAlive(encs)
}
