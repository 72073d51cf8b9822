package writer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Text writes one raw record per line, uncompressed or zstd-compressed.
// All its open files share one memory Budget, its own or the process's
// (WithBudget).
//
// A zstd file is a sequence of frames of at most 1 MiB of text each,
// which RFC 8878 allows and zstd -d reads as one stream. Compressing whole
// chunks with a few shared encoders is what bounds memory: a streaming
// encoder per open file holds its window and match tables, measured at
// 9.4 MiB with the settings used before (SpeedDefault, 8 MiB window,
// low-memory mode) and 1.5 MiB even with a 64 KiB window. 1 MiB frames
// compress log text as well as one frame per file does.
type Text struct {
	zstd   bool
	budget *Budget
	pool   *zstdPool
}

var _ Budgeted = (*Text)(nil)

// TextOption configures the text format.
type TextOption func(*textOptions)

type textOptions struct {
	budget int64
	shared *Budget
}

// WithMemoryBudget bounds the bytes that all open files of the format
// buffer together (default DefaultMemoryBudget, 256 MiB); see Budget.
func WithMemoryBudget(n int64) TextOption { return func(o *textOptions) { o.budget = n } }

// WithBudget makes the format's files share b with the other formats of
// the process (the pipeline's invalid-record sink takes its format's)
// instead of a budget of their own; WithMemoryBudget is then ignored.
// text+zstd reserves its encoders out of b, so make it before any file of
// b opens.
func WithBudget(b *Budget) TextOption { return func(o *textOptions) { o.shared = b } }

const (
	// textChunk batches records into big writes, as the 256 KiB bufio of
	// a part file did before budgets.
	textChunk = 256 << 10
	// zstdFrame is the most text compressed into one zstd frame; the
	// encoders' window is as big, since a frame can't look further back.
	zstdFrame = 1 << 20
	// zstdSlotCost is the memory of one shared zstd encoder, measured
	// after compressing frames (match tables and history: 2.7 MiB), plus
	// its output buffer for a frame that doesn't compress (1 MiB).
	zstdSlotCost = 3<<20 + 768<<10
)

// MinZstdMemoryBudget is the smallest budget of text+zstd: one shared
// encoder, and as much again for the files' buffers.
const MinZstdMemoryBudget = 8 << 20

// NewText returns the text format; compression is "none" or "zstd".
func NewText(compression string, opts ...TextOption) (*Text, error) {
	o := textOptions{budget: DefaultMemoryBudget}
	for _, opt := range opts {
		opt(&o)
	}
	if o.shared != nil {
		o.budget = o.shared.Limit()
	}
	if o.budget < 1 {
		return nil, fmt.Errorf("writer: memory budget %d must be positive", o.budget)
	}
	t := &Text{budget: o.shared}
	if t.budget == nil {
		t.budget = NewBudget(o.budget)
	}
	switch compression {
	case "", "none":
		return t, nil
	case "zstd":
		if o.budget < MinZstdMemoryBudget {
			return nil, fmt.Errorf("writer: memory budget %d is too small for text+zstd: want at least %d (8 MiB)", o.budget, MinZstdMemoryBudget)
		}
		// Compression is CPU-bound: more encoders than CPUs buy nothing,
		// and a small budget keeps most of itself for buffers.
		n := min(runtime.GOMAXPROCS(0), 4, max(1, int(o.budget/(8*zstdSlotCost))))
		t.zstd = true
		t.pool = &zstdPool{free: make(chan *zstdSlot, n), left: n}
		t.budget.reserve(int64(n) * zstdSlotCost)
		return t, nil
	}
	return nil, fmt.Errorf("writer: text compression %q: want none or zstd", compression)
}

func (t *Text) Name() string { return "text" }

func (t *Text) Ext() string {
	if t.zstd {
		return ".txt.zst" // Hadoop picks its codec by the .zst suffix
	}
	return ".txt"
}

// Budget is the memory budget of the format's open files.
func (t *Text) Budget() *Budget { return t.budget }

// NewEncoder starts a file on w. Its writes are big (whole buffers or
// frames), so w needs no buffer of its own.
func (t *Text) NewEncoder(w io.Writer) (Encoder, error) {
	e := &textEncoder{w: w, pool: t.pool}
	e.acct = t.budget.Open(e.spill)
	if t.zstd {
		e.buf.Init(e.acct, zstdFrame, e.compress)
	} else {
		e.buf.Init(e.acct, textChunk, e.write)
	}
	return e, nil
}

type textEncoder struct {
	w       io.Writer
	pool    *zstdPool // nil: no compression
	acct    *Account
	buf     Buffer
	written bool  // a chunk reached w
	err     error // sticky: the file has a hole
	done    bool
}

var (
	errNewline    = &RecordError{Reason: "record contains a newline"}
	errTextClosed = errors.New("writer: text file is closed")
)

func (e *textEncoder) Append(v []byte) error {
	if bytes.IndexByte(v, '\n') >= 0 {
		return errNewline
	}
	e.acct.Lock()
	defer e.acct.Unlock()
	if e.err != nil {
		return e.err
	}
	if e.done {
		return errTextClosed
	}
	if err := e.buf.WriteLine(v); err != nil {
		e.fail(err)
		return e.err
	}
	return nil
}

func (e *textEncoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// spill writes out the buffer for a file that needs the memory.
func (e *textEncoder) spill() {
	if e.err != nil {
		e.buf.Drop() // the file is lost anyway
		return
	}
	if err := e.buf.Free(); err != nil {
		e.fail(err)
	}
}

func (e *textEncoder) write(p []byte) error {
	e.written = true
	_, err := e.w.Write(p)
	return err
}

func (e *textEncoder) compress(p []byte) error {
	e.written = true
	s := e.pool.get()
	defer e.pool.put(s)
	s.dst = s.enc.EncodeAll(p, s.dst[:0])
	if _, err := e.w.Write(s.dst); err != nil {
		return fmt.Errorf("writer: write zstd frame: %w", err)
	}
	return nil
}

func (e *textEncoder) Close(map[string]string) error {
	e.acct.Lock()
	defer e.acct.Unlock()
	if e.done {
		return e.err
	}
	e.done = true
	if err := e.buf.Free(); err != nil {
		e.fail(err)
	}
	if e.err == nil && e.pool != nil && !e.written {
		// An empty file is one empty frame, as a streaming encoder
		// writes: some readers refuse a zero-byte .zst.
		e.fail(e.compress(nil))
	}
	e.acct.Close()
	return e.err
}

// Discard gives the buffer back without writing it.
func (e *textEncoder) Discard() {
	e.acct.Lock()
	defer e.acct.Unlock()
	e.done = true
	e.buf.Drop()
	e.acct.Close()
}

// zstdPool lends out the format's few zstd encoders, making them as
// needed; a goroutine that finds all of them busy waits for one.
type zstdPool struct {
	free chan *zstdSlot
	mu   sync.Mutex
	left int // encoders still to make; the budget reserved them all
}

type zstdSlot struct {
	enc *zstd.Encoder
	dst []byte
}

func (p *zstdPool) get() *zstdSlot {
	select {
	case s := <-p.free:
		return s
	default:
	}
	p.mu.Lock()
	create := p.left > 0
	if create {
		p.left--
	}
	p.mu.Unlock()
	if !create {
		return <-p.free
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1),
		zstd.WithLowerEncoderMem(true), zstd.WithWindowSize(zstdFrame))
	if err != nil {
		panic(err) // the options are constants
	}
	return &zstdSlot{enc: enc, dst: make([]byte, 0, zstdFrame+zstdFrame/64+64)}
}

func (p *zstdPool) put(s *zstdSlot) { p.free <- s }
