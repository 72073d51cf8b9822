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

// Budget bounds the memory that all open files of a process buffer
// together, in every format: late data can open hundreds of partitions at
// once, each with a part file, so a per-file buffer size alone bounds
// nothing. One Budget is shared by the pipeline's format and the
// invalid-record sink (WithBudget and the formats' equivalents), so that
// format.memory_budget bounds the process, not each format.
//
// Each open file has an Account. Files charge it in one of two ways:
//
//   - Before they allocate (text, zstd, lzo: Grow and Release). A file may
//     grow its buffers up to an equal share of the budget: (limit −
//     reserved) / open files, at least 16 KiB, and at most what its format
//     wants at full speed (text: 256 KiB; zstd: 1 MiB frames; lzo: a 256
//     KiB block, then 256 KiB of blocks to write). Buffers grow as data
//     arrives, so files that get a few records hold little. Shares shrink
//     as files open; a file over its share gives back the excess at its
//     next flush, and when a file can't grow within the limit, the other
//     files holding the most spill, and if that is not enough the file
//     writes out its own data instead of growing.
//   - After they allocated (ORC: Set and Fit), for a format whose buffers
//     grow record by record inside its columns and can only be measured.
//     An ORC file ignores shares: a stripe is as big as the budget lets it
//     be, and when the total goes over the limit, the files holding the
//     most spill — this one included — as Apache ORC's MemoryManager
//     bounds its writers (it scales stripes down instead; flushing the
//     largest keeps the most rows per stripe for the rest). Between the
//     append that grew a column and Fit, the limit may be exceeded by that
//     one record's growth; Peak is noted after Fit.
//
// Spilling the largest first works across formats: an ORC file's stripe
// and a text file's chunk are spilled by the same rule. A file holding 16
// KiB or less is never made to spill: it would only shrink its writes.
//
// What is counted is the capacity of every buffer kept between calls and
// the shared compressors a format reserves (zstd). Not counted: the
// structs of an open file (0.5 to 0.8 KiB with its os.File), an lzo
// file's block index (8 bytes a block), the LZO compressor scratch (310
// KiB per goroutine compressing at that moment), an ORC file's column
// structs, statistics and JSON parser cache (about 1 KiB a column), ORC's
// pooled compressors, the column buffers a closed ORC file leaves for the
// format's next file (at most an eighth of the limit, and only what the
// budget had free when they were returned; charged again once a file takes
// them), and the encoded streams of an ORC stripe while it is being
// written. With one goroutine appending, InUse never
// exceeds max(limit, open files × 16 KiB) after a call returns; files
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

// reserve sets n more bytes aside for compressors shared by all files of
// a format, made as they are needed; they are charged now so that making
// one never pushes the budget over. Call it before any file opens.
func (b *Budget) reserve(n int64) {
	b.reserved += n
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
// for: its owner may be waiting for b.mu right now. self, locked by the
// caller, spills in its turn when withSelf is set (its spill runs here).
func (b *Budget) reclaim(self *Account, withSelf bool) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if used := b.used.Load(); used <= b.limit {
		return used
	}
	type sized struct {
		a    *Account
		held int64
	}
	list := make([]sized, 0, len(b.accounts))
	for a := range b.accounts {
		// A file at or under the minimum keeps it: spilling it would
		// only shrink its writes.
		if h := a.held.Load(); (a != self || withSelf) && h > minShare {
			list = append(list, sized{a, h})
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].held > list[j].held })
	for _, s := range list {
		if b.used.Load() <= b.limit {
			break
		}
		if s.a == self {
			s.a.spill()
			b.spills.Add(1)
			continue
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
	return b.used.Load()
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
		b.reclaim(a, false)
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

// Set charges the file n bytes in all, bytes its buffers hold already,
// with the account locked. It never spills anything, so a spill function
// may call it to report what it freed; call Fit after it otherwise.
func (a *Account) Set(n int64) {
	a.b.used.Add(n - a.held.Swap(n))
}

// Fit brings the budget back within its limit after Set grew this file's
// charge, with the account locked: the files holding the most spill, this
// one included when its turn comes (its spill runs in this goroutine).
// Afterwards the budget may still be over when every file is at the
// minimum, or when the files that would spill are busy in other
// goroutines.
func (a *Account) Fit() {
	b := a.b
	total := b.used.Load()
	if total > b.limit {
		total = b.reclaim(a, true)
	}
	b.notePeak(total)
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

// Budgeted is implemented by the formats, whose encoders keep their
// buffers within a Budget; the pipeline gives the same Budget to its
// invalid-record sink.
type Budgeted interface {
	Budget() *Budget
}

// Discarder is implemented by encoders that must give their memory back
// when a file is abandoned without Close.
type Discarder interface {
	Discard()
}
