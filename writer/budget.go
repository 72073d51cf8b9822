package writer

import (
	"sort"
	"sync"
	"sync/atomic"
)

// DefaultMemoryBudget is the budget of a text or lzo format made without
// WithMemoryBudget; format.memory_budget: 0 means the same.
const DefaultMemoryBudget = 256 << 20

// minShare is the least buffer a file is allowed, however many are open:
// below it blocks and frames get too small to compress. So n open files
// may hold max(budget, n × 16 KiB).
const minShare = 16 << 10

// Budget bounds the memory that all open files of one Format buffer
// together. Late data can open hundreds of partitions at once, each with a
// part file, so a per-file buffer size alone bounds nothing.
//
// Each open file has an Account and may grow its buffers up to an equal
// share of the budget: (limit − reserved) / open files, at least 16 KiB,
// and at most what its format wants at full speed (text: 256 KiB; zstd:
// 1 MiB frames; lzo: a 256 KiB block, then 256 KiB of blocks to write).
// Buffers grow as data arrives, so files that get a few records hold
// little. Shares shrink as files open; a file over its share gives back
// the excess at its next flush, and when a file can't grow within the
// limit, the other files holding the most are made to write out their
// data and free their buffers (spill). A file alone under a large budget
// so works as it did without one.
//
// What is counted is the capacity of every buffer kept between calls and
// the shared compressors a format reserves (zstd). Not counted: the
// structs of an open file (0.5 to 0.8 KiB with its os.File), an lzo
// file's block index (8 bytes a block), and the LZO compressor scratch
// (310 KiB per goroutine compressing at that moment). With one goroutine
// appending, InUse never exceeds max(limit, open files × 16 KiB); files
// appended to from several goroutines can take their minimum while the
// files that would give it back are busy.
type Budget struct {
	limit    int64
	reserved int64 // set aside for a format's shared compressors

	files  atomic.Int64
	used   atomic.Int64
	peak   atomic.Int64
	spills atomic.Int64

	mu       sync.Mutex // guards accounts; serializes reclaims
	accounts map[*Account]struct{}
}

// NewBudget returns a budget of limit bytes; limit must be positive.
func NewBudget(limit int64) *Budget {
	return &Budget{limit: limit, accounts: map[*Account]struct{}{}}
}

// Limit is the budget in bytes.
func (b *Budget) Limit() int64 { return b.limit }

// InUse is the bytes charged now: buffers of open files and what is
// Reserved.
func (b *Budget) InUse() int64 { return b.used.Load() }

// Reserved is the part of the budget set aside for compressors that all
// files share (text+zstd's encoders), whether they are made yet or not.
func (b *Budget) Reserved() int64 { return b.reserved }

// Peak is the most InUse has been after any file's buffer grew. It stays
// at or under the limit unless more than limit / 16 KiB files are open.
func (b *Budget) Peak() int64 { return b.peak.Load() }

// Spills counts the files made to write out their data early because
// another file needed the memory.
func (b *Budget) Spills() int64 { return b.spills.Load() }

// Files is the number of open files.
func (b *Budget) Files() int { return int(b.files.Load()) }

// reserve sets n bytes aside for compressors shared by all files, made
// as they are needed; they are charged now so that making one never
// pushes the budget over. Call it before any file opens.
func (b *Budget) reserve(n int64) {
	b.reserved = n
	b.notePeak(b.used.Add(n))
}

func (b *Budget) notePeak(total int64) {
	for {
		p := b.peak.Load()
		if total <= p || b.peak.CompareAndSwap(p, total) {
			return
		}
	}
}

// share is what one file may hold now.
func (b *Budget) share() int {
	n := b.files.Load()
	if n < 1 {
		n = 1
	}
	s := (b.limit - b.reserved) / n
	if s < minShare {
		return minShare
	}
	return int(min(s, 1<<40))
}

// Open starts the account of a new file. spill must write out what the
// file buffers and free its buffers, Releasing them; it is called with the
// account locked, from whichever goroutine needs the memory, so a write
// error it meets must stay with the file for its owner to report.
func (b *Budget) Open(spill func()) *Account {
	a := &Account{b: b, spill: spill}
	b.mu.Lock()
	b.accounts[a] = struct{}{}
	b.mu.Unlock()
	b.files.Add(1)
	return a
}

// reclaim makes the files holding the most spill until used fits the
// limit. A file busy in another goroutine is skipped rather than waited
// for: its owner may be waiting for b.mu right now.
func (b *Budget) reclaim(self *Account) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used.Load() <= b.limit {
		return
	}
	type sized struct {
		a    *Account
		held int64
	}
	list := make([]sized, 0, len(b.accounts))
	for a := range b.accounts {
		// A file at or under the minimum keeps it: spilling it would
		// only shrink its writes.
		if h := a.held.Load(); a != self && h > minShare {
			list = append(list, sized{a, h})
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].held > list[j].held })
	for _, s := range list {
		if b.used.Load() <= b.limit {
			return
		}
		if !s.a.mu.TryLock() {
			continue
		}
		if !s.a.closed {
			s.a.spill()
			b.spills.Add(1)
		}
		s.a.mu.Unlock()
	}
}

// Account is one open file's part of a Budget. Its owner locks it around
// every call that touches the file's buffers, because another file's
// growth may spill them from another goroutine.
type Account struct {
	b      *Budget
	mu     sync.Mutex
	held   atomic.Int64 // written under mu, read by reclaims
	spill  func()
	closed bool
}

// Lock locks the account against spills.
func (a *Account) Lock() { a.mu.Lock() }

// Unlock undoes Lock.
func (a *Account) Unlock() { a.mu.Unlock() }

// Share is the most this file may hold now.
func (a *Account) Share() int { return a.b.share() }

// Held is the bytes charged to this file.
func (a *Account) Held() int64 { return a.held.Load() }

// Grow asks for n more bytes, with the account locked. When they don't fit
// the limit, other files spill; if they still don't, the answer is false
// (unless the file holds less than the 16 KiB minimum) and the caller
// writes out what it has instead of growing.
func (a *Account) Grow(n int) bool {
	b := a.b
	total := b.used.Add(int64(n))
	if total > b.limit {
		b.reclaim(a)
		total = b.used.Load()
		if total > b.limit && a.held.Load()+int64(n) > minShare {
			b.used.Add(-int64(n))
			return false
		}
	}
	a.held.Add(int64(n))
	b.notePeak(total)
	return true
}

// Release gives back n bytes, with the account locked.
func (a *Account) Release(n int) {
	a.held.Add(-int64(n))
	a.b.used.Add(-int64(n))
}

// Close ends the account, giving back what is still charged. The file's
// buffers must not be used afterwards.
func (a *Account) Close() {
	if a.closed {
		return
	}
	a.closed = true
	a.Release(int(a.held.Load()))
	a.b.mu.Lock()
	delete(a.b.accounts, a)
	a.b.mu.Unlock()
	a.b.files.Add(-1)
}

// Budgeted is implemented by formats whose encoders keep their buffers
// within a Budget (ORC has a budget of its own).
type Budgeted interface {
	Budget() *Budget
}

// Discarder is implemented by encoders that must give their memory back
// when a file is abandoned without Close.
type Discarder interface {
	Discard()
}
