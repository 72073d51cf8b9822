package writer_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/landfall/landfall/writer"
	"github.com/landfall/landfall/writer/fsys"
	"github.com/landfall/landfall/writer/lzo"
)

// heapInuse is the heap's spans in use after a full collection (two: the
// second frees what sync.Pools kept through the first): live objects and
// the fragmentation around them.
func heapInuse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

// heapAlloc is the bytes of live objects after a full collection, exact
// to the byte for small ones.
func heapAlloc() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// manyParts is the P5 scenario. It opens part files in waves, as late
// data does: each wave's files are created while the earlier ones stay
// open, and get perPart bytes each in round-robin order, so that every
// file of the wave is partly filled at every moment. Then it rolls and
// closes them all as the committer does (16 rolls at a time). It returns
// the most the live heap grew over what it was before the first file,
// measured after a GC every 1/16 of the data, and what it wrote.
func manyParts(t *testing.T, fs fsys.FS, f writer.Format, waves []int, perPart int) (peak int64, names []string, rows []int) {
	t.Helper()
	base := heapInuse()
	var open []*writer.Part
	var written []int
	var line []byte
	parts := 0
	for _, n := range waves {
		parts += n
	}
	measureEvery := parts * perPart / 16
	total, next := 0, measureEvery
	for _, n := range waves {
		first := len(open)
		for i := first; i < first+n; i++ {
			names = append(names, fmt.Sprintf("staging/p%03d%s", i, f.Ext()))
			p, err := writer.Create(fs, f, names[i])
			if err != nil {
				t.Fatal(err)
			}
			open = append(open, p)
			rows = append(rows, 0)
			written = append(written, 0)
		}
		for active := true; active; {
			active = false
			for i := first; i < len(open); i++ {
				if written[i] >= perPart {
					continue
				}
				active = true
				line = record(line[:0], i, rows[i])
				if err := open[i].Append(line); err != nil {
					t.Fatal(err)
				}
				rows[i]++
				written[i] += len(line) + 1
				total += len(line) + 1
			}
			if total >= next {
				peak = max(peak, heapInuse()-base)
				next += measureEvery
			}
		}
	}
	peak = max(peak, heapInuse()-base)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	errs := make([]error, len(open))
	for i, p := range open {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r, err := p.Roll(nil)
			if err == nil && r.Rows != int64(rows[i]) {
				err = fmt.Errorf("%s: rolled %d rows, appended %d", names[i], r.Rows, rows[i])
			}
			if err == nil {
				err = p.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return peak, names, rows
}

// checkLines fails unless data is part p's records 0..n-1, each once, in
// order.
func checkLines(t *testing.T, name string, data []byte, p, n int) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	seq := 0
	var want []byte
	for sc.Scan() {
		want = record(want[:0], p, seq)
		if !bytes.Equal(sc.Bytes(), want) {
			t.Fatalf("%s: line %d is %.80q, want %.80q", name, seq+1, sc.Bytes(), want)
		}
		seq++
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if seq != n {
		t.Fatalf("%s: %d records, want %d", name, seq, n)
	}
}

func readFile(t *testing.T, fs fsys.FS, name string) []byte {
	t.Helper()
	r, err := fs.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The bound of TestMemoryBudget: each open file costs a fixed 0.5 to 0.8
// KiB outside the budget (its Part, encoder, account and os.File, as
// TestMemoryBudget/overhead measures), lzo's compressor scratch is 310
// KiB per goroutine compressing, and the runtime and the test's own state
// wobble by about a MiB. 1 KiB a file plus 2 MiB covers them.
const (
	manyBudget    = 16 << 20
	manyFiles     = 320
	fileOverhead  = 1 << 10
	fixedOverhead = 2 << 20
	manyBound     = manyBudget + manyFiles*fileOverhead + fixedOverhead
)

var manyFormats = []struct {
	name string
	new  func(budget int64) (writer.Format, error)
}{
	{"text", func(n int64) (writer.Format, error) { return writer.NewText("none", writer.WithMemoryBudget(n)) }},
	{"zstd", func(n int64) (writer.Format, error) { return writer.NewText("zstd", writer.WithMemoryBudget(n)) }},
	{"lzo", func(n int64) (writer.Format, error) { return lzo.NewFormat(lzo.WithMemoryBudget(n)) }},
}

// TestMemoryBudget opens 320 part files of each format on the local
// filesystem, appends interleaved records to all of them, and checks that
// the heap stays under the format's 16 MiB budget plus the fixed overhead
// of open files. "late" first fills 16 files, leaves them open and then
// opens 304 more, so the budget must spill the first ones to make room.
// Then it reads every file back: every record exactly once, in order,
// with the project's readers and with the zstd and lzop tools (lzop also
// checks every block's checksum), and every .lzo.index against the
// blocks. The same appends without a budget must break the bound, which
// shows that the measurement can fail.
func TestMemoryBudget(t *testing.T) {
	for _, ft := range manyFormats {
		for _, sc := range []struct {
			name  string
			waves []int
		}{{"interleaved", []int{manyFiles}}, {"late", []int{16, manyFiles - 16}}} {
			t.Run(ft.name+"/"+sc.name, func(t *testing.T) {
				fs, err := fsys.NewLocal(t.TempDir())
				if err != nil {
					t.Fatal(err)
				}
				f, err := ft.new(manyBudget)
				if err != nil {
					t.Fatal(err)
				}
				peak, names, rows := manyParts(t, fs, f, sc.waves, 256<<10)
				b := f.(writer.Budgeted).Budget()
				t.Logf("heap grew at most %.1f MiB (bound %.1f MiB); budget peak %.1f of %.1f MiB; %d spills",
					mib(peak), mib(manyBound), mib(b.Peak()), mib(b.Limit()), b.Spills())
				if peak > manyBound {
					t.Errorf("heap grew %d bytes with %d files open: more than the budget %d + overhead = %d", peak, manyFiles, manyBudget, manyBound)
				}
				if b.Peak() > b.Limit() {
					t.Errorf("budget accounting peaked at %d, over its limit %d", b.Peak(), b.Limit())
				}
				if b.Files() != 0 || b.InUse() != b.Reserved() {
					t.Errorf("after rolling every file the budget counts %d files holding %d bytes", b.Files(), b.InUse())
				}
				if sc.name == "late" && b.Spills() == 0 {
					t.Error("the late wave got its memory without spilling the first wave's files")
				}
				for i, name := range names {
					checkFile(t, fs, ft.name, name, i, rows[i])
				}
			})
		}
	}
	t.Run("unbounded", func(t *testing.T) {
		// The same appends with the budget out of the way (less data: it
		// need only show that the bound can fail).
		for _, ft := range manyFormats {
			fs, err := fsys.NewLocal(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			f, err := ft.new(1 << 50)
			if err != nil {
				t.Fatal(err)
			}
			peak, _, _ := manyParts(t, fs, f, []int{manyFiles}, 128<<10)
			t.Logf("%s without a budget: heap grew %.1f MiB", ft.name, mib(peak))
			if peak <= manyBound {
				t.Errorf("%s: without a budget the heap grew only %d bytes, within the bound %d: the test can't tell", ft.name, peak, manyBound)
			}
		}
	})
	t.Run("overhead", func(t *testing.T) {
		// What an open file costs outside the budget: open files that
		// hold nothing.
		for _, ft := range manyFormats {
			fs, err := fsys.NewLocal(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			f, err := ft.new(manyBudget)
			if err != nil {
				t.Fatal(err)
			}
			parts := make([]*writer.Part, manyFiles)
			base := heapAlloc()
			for i := range parts {
				if parts[i], err = writer.Create(fs, f, fmt.Sprintf("staging/p%03d", i)); err != nil {
					t.Fatal(err)
				}
			}
			b := f.(writer.Budgeted).Budget()
			// lzo files that opened while the share was big buffer their
			// header: that is in the budget.
			per := (heapAlloc() - base - (b.InUse() - b.Reserved())) / manyFiles
			t.Logf("%s: %d bytes per open file", ft.name, per)
			if per > fileOverhead {
				t.Errorf("%s: an open file costs %d bytes outside the budget, the bound allows %d", ft.name, per, fileOverhead)
			}
			for _, p := range parts {
				if err := p.Close(); err != nil {
					t.Fatal(err)
				}
			}
			if b.Files() != 0 || b.InUse() != b.Reserved() {
				t.Errorf("%s: abandoned files left %d files, %d bytes in the budget", ft.name, b.Files(), b.InUse())
			}
		}
	})
}

// checkFile reads back part p's file and its sidecars with every reader
// at hand.
func checkFile(t *testing.T, fs fsys.FS, format, name string, p, rows int) {
	t.Helper()
	data := readFile(t, fs, name)
	switch format {
	case "zstd":
		countFrames(t, data)
		raw := decodeZstd(t, data)
		if zstdCLI, err := exec.LookPath("zstd"); err == nil {
			if out := runTool(t, data, zstdCLI, "-d", "-c", "-q"); !bytes.Equal(out, raw) {
				t.Fatalf("%s: zstd -d reads other bytes than klauspost's decoder", name)
			}
		}
		data = raw
	case "lzo":
		index := readFile(t, fs, name+lzo.IndexSuffix)
		checkLzoIndex(t, name, data, index)
		zr, err := lzo.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		lzop, err := exec.LookPath("lzop")
		if err != nil {
			t.Fatalf("lzop is not installed (%v): run `make test-deps`", err)
		}
		if out := runTool(t, data, lzop, "-d", "-c"); !bytes.Equal(out, raw) {
			t.Fatalf("%s: lzop -d reads other bytes than lzo.Reader", name)
		}
		data = raw
	}
	checkLines(t, name, data, p, rows)
}

func runTool(t *testing.T, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, errb.String())
	}
	return out
}

// checkLzoIndex checks that the index lists exactly the blocks of the file,
// each of which decompresses.
func checkLzoIndex(t *testing.T, name string, data, index []byte) {
	t.Helper()
	walked, err := lzo.BuildIndex(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !bytes.Equal(walked, index) {
		t.Fatalf("%s: index has %d entries, the file %d blocks, or they differ", name, len(index)/8, len(walked)/8)
	}
	offs, err := lzo.ParseIndex(index)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	zr, err := lzo.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for i, off := range offs {
		b, err := lzo.ReadBlockAt(bytes.NewReader(data), off, zr.Header())
		if err != nil {
			t.Fatalf("%s: index entry %d: %v", name, i, err)
		}
		if _, err := b.Decompress(nil); err != nil {
			t.Fatalf("%s: index entry %d: %v", name, i, err)
		}
	}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

func decodeZstd(t *testing.T, data []byte) []byte {
	t.Helper()
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	raw, err := d.DecodeAll(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// countFrames walks the zstd frames of data by their headers.
func countFrames(t *testing.T, data []byte) int {
	t.Helper()
	n := 0
	for len(data) > 0 {
		var h zstd.Header
		if err := h.Decode(data); err != nil {
			t.Fatalf("frame %d: %v", n, err)
		}
		size := frameSize(t, data, &h)
		data = data[size:]
		n++
	}
	return n
}

// frameSize is the encoded size of the frame at the start of data: its
// header, blocks and checksum.
func frameSize(t *testing.T, data []byte, h *zstd.Header) int {
	t.Helper()
	off := h.HeaderSize
	for {
		if off+3 > len(data) {
			t.Fatal("truncated zstd block header")
		}
		bh := int(data[off]) | int(data[off+1])<<8 | int(data[off+2])<<16
		last, typ, size := bh&1 == 1, (bh>>1)&3, bh>>3
		if typ == 1 { // RLE: one byte stands for size
			size = 1
		}
		off += 3 + size
		if last {
			break
		}
	}
	if h.HasCheckSum {
		off += 4
	}
	return off
}

// TestMemoryBudgetConcurrentFiles appends to the files of one format from
// 8 goroutines at once under a budget too small for them all, so that
// growing a file keeps spilling files that other goroutines are writing:
// a spill must skip a busy file, never wait for it, and never lose or
// tear a record. Run it with -race.
func TestMemoryBudgetConcurrentFiles(t *testing.T) {
	for _, ft := range manyFormats {
		t.Run(ft.name, func(t *testing.T) {
			budget := int64(1 << 20)
			if ft.name == "zstd" {
				budget = 8 << 20 // the least it takes, one encoder's worth
			}
			f, err := ft.new(budget)
			if err != nil {
				t.Fatal(err)
			}
			const goroutines, files, recs = 8, 20, 300
			outs := make([][]bytes.Buffer, goroutines)
			var wg sync.WaitGroup
			errs := make(chan error, goroutines)
			for g := range goroutines {
				outs[g] = make([]bytes.Buffer, files)
				wg.Add(1)
				go func() {
					defer wg.Done()
					encs := make([]writer.Encoder, files)
					for i := range encs {
						var err error
						if encs[i], err = f.NewEncoder(&outs[g][i]); err != nil {
							errs <- err
							return
						}
					}
					var line []byte
					for seq := range recs {
						for i, e := range encs {
							line = record(line[:0], g*files+i, seq)
							if err := e.Append(line); err != nil {
								errs <- err
								return
							}
						}
					}
					for _, e := range encs {
						if err := e.Close(nil); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			b := f.(writer.Budgeted).Budget()
			t.Logf("budget peak %.2f of %.2f MiB, %d spills", mib(b.Peak()), mib(b.Limit()), b.Spills())
			// Every file may hold 16 KiB, which here is more than the
			// budget. Each appender may also have one growth of its buffer
			// (at most 256 KiB) charged but not yet undone when the peak is
			// noted: the strict bound is for one appending goroutine, as in
			// the committer, and TestMemoryBudget holds it to that.
			floor := int64(goroutines * files * 16 << 10)
			if slack := int64(goroutines * 256 << 10); b.Peak() > max(b.Limit(), floor)+slack {
				t.Errorf("budget peaked at %d: more than the limit %d (or the files' minimum %d) and %d in flight", b.Peak(), b.Limit(), floor, slack)
			}
			if b.Files() != 0 || b.InUse() != b.Reserved() {
				t.Errorf("after Close the budget counts %d files holding %d bytes", b.Files(), b.InUse())
			}
			for g := range outs {
				for i := range outs[g] {
					data := outs[g][i].Bytes()
					switch ft.name {
					case "zstd":
						data = decodeZstd(t, data)
					case "lzo":
						zr, err := lzo.NewReader(bytes.NewReader(data))
						if err != nil {
							t.Fatal(err)
						}
						if data, err = io.ReadAll(zr); err != nil {
							t.Fatal(err)
						}
					}
					checkLines(t, fmt.Sprint("file ", g*files+i), data, g*files+i, recs)
				}
			}
		})
	}
}

type writeSizes struct {
	bytes.Buffer
	sizes []int
}

func (w *writeSizes) Write(p []byte) (int, error) {
	w.sizes = append(w.sizes, len(p))
	return w.Buffer.Write(p)
}

// TestTextOneFileKeepsBigWrites: a text file alone under the default budget
// writes 256 KiB at a time, as the part file's bufio did before budgets,
// and a zstd file compresses 1 MiB frames.
func TestTextOneFileKeepsBigWrites(t *testing.T) {
	for _, comp := range []string{"none", "zstd"} {
		f, err := writer.NewText(comp)
		if err != nil {
			t.Fatal(err)
		}
		var out writeSizes
		enc, err := f.NewEncoder(&out)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		var line []byte
		for seq := 0; want.Len() < 3<<20+1000; seq++ {
			line = record(line[:0], 0, seq)
			if err := enc.Append(line); err != nil {
				t.Fatal(err)
			}
			want.Write(line)
			want.WriteByte('\n')
		}
		if err := enc.Close(nil); err != nil {
			t.Fatal(err)
		}
		switch comp {
		case "none":
			for i, n := range out.sizes[:len(out.sizes)-1] {
				if n != 256<<10 {
					t.Fatalf("write %d of %d is %d bytes, want 256 KiB", i, len(out.sizes), n)
				}
			}
			if !bytes.Equal(out.Bytes(), want.Bytes()) {
				t.Fatal("text differs")
			}
		case "zstd":
			var sizes []uint64
			for data := out.Bytes(); len(data) > 0; {
				var h zstd.Header
				if err := h.Decode(data); err != nil {
					t.Fatal(err)
				}
				sizes = append(sizes, h.FrameContentSize)
				data = data[frameSize(t, data, &h):]
			}
			if len(sizes) != 4 || sizes[0] != 1<<20 || sizes[1] != 1<<20 || sizes[2] != 1<<20 {
				t.Fatalf("frames of %v bytes, want three of 1 MiB and the rest", sizes)
			}
			if len(out.sizes) != len(sizes) {
				t.Fatalf("%d writes for %d frames", len(out.sizes), len(sizes))
			}
			if !bytes.Equal(decodeZstd(t, out.Bytes()), want.Bytes()) {
				t.Fatal("text differs")
			}
		}
	}
}

func TestNewTextRejectsBadBudget(t *testing.T) {
	if _, err := writer.NewText("none", writer.WithMemoryBudget(0)); err == nil {
		t.Error("a zero budget accepted")
	}
	if _, err := writer.NewText("zstd", writer.WithMemoryBudget(writer.MinZstdMemoryBudget-1)); err == nil {
		t.Error("a budget without room for a zstd encoder accepted")
	}
	if _, err := lzo.NewFormat(lzo.WithMemoryBudget(-1)); err == nil {
		t.Error("lzo: a negative budget accepted")
	}
}

// TestPartAbandonedLeavesBudget: a part file closed without Roll gives its
// buffers back; Close after Roll doesn't give them twice.
func TestPartAbandonedLeavesBudget(t *testing.T) {
	fs, err := fsys.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, ft := range manyFormats {
		f, err := ft.new(writer.DefaultMemoryBudget)
		if err != nil {
			t.Fatal(err)
		}
		b := f.(writer.Budgeted).Budget()
		a, err := writer.Create(fs, f, "staging/a-"+ft.name)
		if err != nil {
			t.Fatal(err)
		}
		r, err := writer.Create(fs, f, "staging/r-"+ft.name)
		if err != nil {
			t.Fatal(err)
		}
		for seq := range 1000 {
			for _, p := range []*writer.Part{a, r} {
				if err := p.Append(record(nil, 0, seq)); err != nil {
					t.Fatal(err)
				}
			}
		}
		if b.InUse() <= b.Reserved() || b.Files() != 2 {
			t.Fatalf("%s: two files with data, budget counts %d files, %d bytes", ft.name, b.Files(), b.InUse())
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Roll(nil); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if b.Files() != 0 || b.InUse() != b.Reserved() {
			t.Fatalf("%s: after abandoning one and rolling the other, the budget counts %d files, %d bytes", ft.name, b.Files(), b.InUse())
		}
	}
}

// TestManyFilesAtTheMinimumDontSpill: with more files than the budget has
// 16 KiB minimums for, every file keeps its minimum (the documented
// overshoot) and none is spilled for another's sake, which would write
// every file out in 4 KiB pieces and gain no memory.
func TestManyFilesAtTheMinimumDontSpill(t *testing.T) {
	const files = 256
	f, err := writer.NewText("none", writer.WithMemoryBudget(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	outs := make([]*writeSizes, files)
	encs := make([]writer.Encoder, files)
	for i := range encs {
		outs[i] = &writeSizes{}
		if encs[i], err = f.NewEncoder(outs[i]); err != nil {
			t.Fatal(err)
		}
	}
	var line []byte
	for seq := 0; seq < 200; seq++ {
		for i, e := range encs {
			line = record(line[:0], i, seq)
			if err := e.Append(line); err != nil {
				t.Fatal(err)
			}
		}
	}
	b := f.Budget()
	if b.Spills() != 0 {
		t.Errorf("%d spills among %d files at their minimum", b.Spills(), files)
	}
	if max := int64(files) * 16 << 10; b.Peak() > max {
		t.Errorf("peak %d bytes, want at most %d (16 KiB a file)", b.Peak(), max)
	}
	for i, e := range encs {
		if err := e.Close(nil); err != nil {
			t.Fatal(err)
		}
		for j, n := range outs[i].sizes[:len(outs[i].sizes)-1] {
			if n < 8<<10 {
				t.Fatalf("file %d write %d is %d bytes; want the 16 KiB minimum's worth", i, j, n)
			}
		}
		data := outs[i].Bytes()
		checkLines(t, fmt.Sprint("file ", i), data, i, 200)
	}
}
