package writer

// Buffer holds the bytes of one open file that are not written yet, in
// memory charged to the file's Account, and hands them on in chunks: the
// text format writes or compresses each chunk, lzo makes each a block. It
// grows as data arrives up to min(max, the file's share), so a chunk is
// as big as the budget allows, and big writes skip it. Its methods are
// called with the account locked. The zero value is not usable; see Init.
type Buffer struct {
	acct  *Account // nil: no budget, grow to max
	max   int
	first int  // of the share, left to the file's other buffer
	whole bool // pass big writes on whole, not in chunks
	emit  func([]byte) error
	buf   []byte
}

// minBuffer is the first allocation: enough for a dozen log lines.
const minBuffer = 4 << 10

// Init sets the buffer up. acct may be nil for a file outside any budget.
// emit writes a chunk of at most max bytes; it may be given a slice of
// the caller's data, which it must not keep.
func (b *Buffer) Init(acct *Account, max int, emit func([]byte) error) {
	b.acct, b.max, b.emit = acct, max, emit
}

// InitWrites sets the buffer up to batch the writes of a file's other
// buffer (lzo's blocks) into big ones. It gets what the file's share
// leaves after first bytes, which may be nothing, and writes as big as
// the buffer go to emit whole.
func (b *Buffer) InitWrites(acct *Account, first, max int, emit func([]byte) error) {
	b.Init(acct, max, emit)
	b.first, b.whole = first, true
}

// Len is the number of bytes buffered.
func (b *Buffer) Len() int { return len(b.buf) }

// limit is the biggest chunk now.
func (b *Buffer) limit() int {
	if b.acct == nil {
		return b.max
	}
	// Whole pages: the allocator rounds big buffers up to them, and the
	// budget must count what is really taken.
	return max(0, min(b.max, (b.acct.Share()-b.first)&^(pageSize-1)))
}

const pageSize = 8 << 10

// Write buffers p, emitting full chunks.
func (b *Buffer) Write(p []byte) error {
	for len(p) > 0 {
		if len(b.buf) == 0 {
			if lim := b.limit(); len(p) >= lim {
				// Straight from the caller: no copy.
				if b.whole {
					return b.emit(p)
				}
				if err := b.emit(p[:lim]); err != nil {
					return err
				}
				p = p[lim:]
				continue
			}
		}
		if len(b.buf) == cap(b.buf) && !b.grow(len(b.buf)+len(p)) {
			if err := b.Flush(); err != nil {
				return err
			}
			if cap(b.buf) == 0 && !b.grow(len(p)) {
				// Not even the minimum: the budget is spent by files
				// busy in other goroutines. Write through.
				return b.through(p)
			}
			continue
		}
		n := copy(b.buf[len(b.buf):cap(b.buf)], p)
		b.buf = b.buf[:len(b.buf)+n]
		p = p[n:]
	}
	return nil
}

// through emits p unbuffered, in chunks of at most max.
func (b *Buffer) through(p []byte) error {
	for len(p) > 0 {
		n := len(p)
		if !b.whole {
			n = min(n, b.max)
		}
		if err := b.emit(p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// WriteLine buffers p and a newline.
func (b *Buffer) WriteLine(p []byte) error {
	if len(b.buf)+len(p) < cap(b.buf) {
		b.buf = append(b.buf, p...)
		b.buf = append(b.buf, '\n')
		return nil
	}
	if err := b.Write(p); err != nil {
		return err
	}
	return b.Write(newline)
}

var newline = []byte{'\n'}

// grow tries to make room for need bytes, doubling up to the limit; false
// means the buffer is full and must be flushed.
func (b *Buffer) grow(need int) bool {
	lim := b.limit()
	c := max(2*cap(b.buf), minBuffer)
	for c < need && c < lim {
		c *= 2
	}
	c = min(c, lim)
	if c <= cap(b.buf) {
		return false
	}
	if b.acct != nil && !b.acct.Grow(c-cap(b.buf)) {
		// An empty buffer still gets the minimum every file is allowed.
		if cap(b.buf) > 0 {
			return false
		}
		if c = min(c, minShare); !b.acct.Grow(c) {
			return false
		}
	}
	nb := make([]byte, len(b.buf), c)
	copy(nb, b.buf)
	b.buf = nb
	return true
}

// Flush emits what is buffered. A buffer that is bigger than the file's
// share now (more files opened since it grew) is freed.
func (b *Buffer) Flush() error {
	var err error
	if len(b.buf) > 0 {
		err = b.emit(b.buf)
		b.buf = b.buf[:0]
	}
	if cap(b.buf) > b.limit() {
		b.Drop()
	}
	return err
}

// Free emits what is buffered and gives the memory back.
func (b *Buffer) Free() error {
	err := b.Flush()
	b.Drop()
	return err
}

// Drop forgets what is buffered and gives the memory back.
func (b *Buffer) Drop() {
	if b.acct != nil {
		b.acct.Release(cap(b.buf))
	}
	b.buf = nil
}
