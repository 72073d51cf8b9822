package lzo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/writer"
)

// blockSizes lists the uncompressed size of every block of an lzop file.
func blockSizes(t *testing.T, file []byte) []int {
	t.Helper()
	zr, err := NewReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for {
		b, err := zr.Next()
		if errors.Is(err, io.EOF) {
			return sizes
		}
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, int(b.UncompressedLen))
	}
}

// TestFormatBudgetKeepsFullBlocksForOneFile: a file alone under the
// default budget fills lzop's 256 KiB blocks and writes 256 KiB at a time,
// as it did before there were budgets (through a part file's bufio).
func TestFormatBudgetKeepsFullBlocksForOneFile(t *testing.T) {
	f := newTestFormat(t)
	var out writeSizes
	enc, err := f.NewEncoder(&out)
	if err != nil {
		t.Fatal(err)
	}
	text := logText(3<<20, 11)
	for _, l := range bytes.SplitAfter(text, []byte("\n")) {
		if err := enc.Append(bytes.TrimSuffix(l, []byte("\n"))); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Close(nil); err != nil {
		t.Fatal(err)
	}
	sizes := blockSizes(t, out.Bytes())
	for i, n := range sizes[:len(sizes)-1] {
		if n != DefaultBlockSize {
			t.Fatalf("block %d holds %d bytes, want %d", i, n, DefaultBlockSize)
		}
	}
	for i, n := range out.sizes[:len(out.sizes)-1] {
		if n != writeSize {
			t.Fatalf("write %d of %d is %d bytes, want %d", i, len(out.sizes), n, writeSize)
		}
	}
	if b := f.Budget(); b.InUse() != 0 || b.Files() != 0 || b.Peak() != DefaultBlockSize+writeSize {
		t.Fatalf("budget after Close: %d bytes, %d files, peak %d; want 0, 0, a block and a write", b.InUse(), b.Files(), b.Peak())
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

// TestFormatBudgetEndsBlocksEarly opens 100 files under a 2 MiB budget
// (16 KiB a file after the first wave takes its share) and checks that
// blocks end at the files' shares, that the index lists exactly those
// blocks, and that lzop reads every file back.
func TestFormatBudgetEndsBlocksEarly(t *testing.T) {
	const budget = 2 << 20
	f := newTestFormat(t, WithMemoryBudget(budget))
	type file struct {
		out  bytes.Buffer
		want bytes.Buffer
		enc  writer.Encoder
	}
	files := make([]*file, 100)
	text := logText(200_000, 12)
	lines := bytes.Split(text[:bytes.LastIndexByte(text, '\n')], []byte("\n"))
	// A first wave of 4 files grows 256 KiB blocks, then 96 more open.
	for _, wave := range [][3]int{{0, 4, 1000}, {4, 100, 400}} {
		for i := wave[0]; i < wave[1]; i++ {
			files[i] = &file{}
			enc, err := f.NewEncoder(&files[i].out)
			if err != nil {
				t.Fatal(err)
			}
			files[i].enc = enc
		}
		for k := range wave[2] {
			for i := wave[0]; i < wave[1]; i++ {
				l := fmt.Appendf(nil, "%d %s", i, lines[(k*7+i)%len(lines)])
				if err := files[i].enc.Append(l); err != nil {
					t.Fatal(err)
				}
				files[i].want.Write(l)
				files[i].want.WriteByte('\n')
			}
		}
	}
	b := f.Budget()
	if b.Peak() > budget {
		t.Errorf("budget peaked at %d, over %d", b.Peak(), budget)
	}
	if b.Spills() == 0 {
		t.Error("the first wave's blocks were not ended early for the second")
	}
	for i, fl := range files {
		if err := fl.enc.Close(nil); err != nil {
			t.Fatal(err)
		}
		index := fl.enc.(writer.Sidecars).Sidecars()[0].Data
		checkIndex(t, fmt.Sprint("file ", i), fl.out.Bytes(), index)
		if got := readAll(t, fl.out.Bytes()); !bytes.Equal(got, fl.want.Bytes()) {
			t.Fatalf("file %d: our reader: lines differ", i)
		}
		if got := runLzop(t, fl.out.Bytes(), "-d", "-c"); !bytes.Equal(got, fl.want.Bytes()) {
			t.Fatalf("file %d: lzop -d: lines differ", i)
		}
		sizes := blockSizes(t, fl.out.Bytes())
		if len(index)/8 != len(sizes) || binary.BigEndian.Uint64(index) == 0 {
			t.Fatalf("file %d: %d index entries for %d blocks", i, len(index)/8, len(sizes))
		}
		if i >= 4 {
			for j, n := range sizes {
				if n > 16<<10 {
					t.Fatalf("file %d: block %d holds %d bytes, more than the file's 16 KiB share", i, j, n)
				}
			}
		}
	}
	if b.InUse() != 0 || b.Files() != 0 {
		t.Fatalf("budget after Close: %d bytes, %d files", b.InUse(), b.Files())
	}
}

// TestFormatNewEncoderUnderPressure: files started while others fill a
// tight budget. A new file's header is charged before NewEncoder returns;
// a reclaim from another file must not spill it half made.
func TestFormatNewEncoderUnderPressure(t *testing.T) {
	f := newTestFormat(t, WithMemoryBudget(64<<10), WithBlockSize(4096))
	line := bytes.Repeat([]byte("x"), 300)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			enc, err := f.NewEncoder(io.Discard)
			if err != nil {
				t.Error(err)
				return
			}
			defer enc.Close(nil)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := enc.Append(line); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	deadline := time.Now().Add(2 * time.Second)
	for n := 0; time.Now().Before(deadline); n++ {
		enc, err := f.NewEncoder(io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if err := enc.Close(nil); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if b := f.Budget(); b.InUse() != 0 || b.Files() != 0 {
		t.Fatalf("budget after Close: %d bytes, %d files; want 0, 0", b.InUse(), b.Files())
	}
}
