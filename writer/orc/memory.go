package orc

import (
	"sort"
	"sync"
	"sync/atomic"
)

// memoryManager keeps the bytes held by all open writers of a Format under
// one budget. Late data can open hundreds of partitions at once; without a
// shared limit each would buffer up to a full stripe. When the total goes
// over budget, the writers holding the most flush their stripes early and
// drop their buffers, as Apache ORC's MemoryManager does (it scales stripe
// sizes down instead; flushing the largest keeps the most rows per stripe
// for the rest).
//
// What is counted is the capacity of every buffer a writer keeps between
// records (column values, dictionaries, stream buffers kept for reuse).
// Not counted: the shared compressors (pooled, a few per process), the JSON
// parser's scratch (one record's worth), and the encoded streams of a stripe
// while it is being written, which exist only during a flush.
//
// Writers report their size after each Append. The check runs with no
// writer's lock held, and a reclaim locks one writer at a time, so two
// writers appending concurrently can't deadlock on each other.
type memoryManager struct {
	budget int64
	total  atomic.Int64

	mu      sync.Mutex // guards writers; serializes reclaims
	writers map[*Writer]struct{}

	// peak is the highest total observed after a reclaim, for tests and
	// metrics: it must stay at or under budget.
	peak atomic.Int64
}

func newMemoryManager(budget int64) *memoryManager {
	return &memoryManager{budget: budget, writers: map[*Writer]struct{}{}}
}

func (m *memoryManager) register(w *Writer) {
	m.mu.Lock()
	m.writers[w] = struct{}{}
	m.mu.Unlock()
}

func (m *memoryManager) unregister(w *Writer) {
	m.mu.Lock()
	delete(m.writers, w)
	m.mu.Unlock()
	w.mu.Lock()
	m.total.Add(-w.held)
	w.held = 0
	w.mu.Unlock()
}

// update records w's current size; w.mu must be held.
func (m *memoryManager) update(w *Writer) int64 {
	n := w.heldBytes()
	return m.total.Add(n - swapHeld(w, n))
}

func swapHeld(w *Writer, n int64) int64 {
	old := w.held
	w.held = n
	return old
}

// afterAppend is called by w after each Append, without w.mu held.
func (m *memoryManager) afterAppend(w *Writer) error {
	w.mu.Lock()
	total := m.update(w)
	w.mu.Unlock()
	if total <= m.budget {
		m.notePeak(total)
		return nil
	}
	return m.reclaim(w)
}

func (m *memoryManager) notePeak(total int64) {
	for {
		p := m.peak.Load()
		if total <= p || m.peak.CompareAndSwap(p, total) {
			return
		}
	}
}

// reclaim flushes the largest writers until the total fits the budget. An
// error flushing the caller's own writer is returned; another writer's
// error stays sticky in that writer and surfaces at its next call.
func (m *memoryManager) reclaim(caller *Writer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.total.Load() <= m.budget {
		m.notePeak(m.total.Load())
		return nil
	}
	type sized struct {
		w    *Writer
		held int64
	}
	list := make([]sized, 0, len(m.writers))
	for w := range m.writers {
		w.mu.Lock()
		list = append(list, sized{w, w.held})
		w.mu.Unlock()
	}
	sort.Slice(list, func(i, j int) bool { return list[i].held > list[j].held })
	var callerErr error
	for _, s := range list {
		if m.total.Load() <= m.budget {
			break
		}
		s.w.mu.Lock()
		var err error
		if !s.w.closed {
			err = s.w.flushStripe(true)
			m.update(s.w)
		}
		s.w.mu.Unlock()
		if err != nil && s.w == caller {
			callerErr = err
		}
	}
	m.notePeak(m.total.Load())
	return callerErr
}
