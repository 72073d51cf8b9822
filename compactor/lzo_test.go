package compactor

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"github.com/landfall/landfall/writer/lzo"
)

// textLines makes n lines of log-like text of about 200 bytes.
func textLines(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 3))
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `{"seq":%d,"level":"%s","host":"web-%03d","path":"/api/v1/items/%d","trace":"%016x","latency_ms":%.2f}`+"\n",
			i, []string{"info", "warn", "error"}[rng.IntN(3)], rng.IntN(50), rng.IntN(1e6), rng.Uint64(), rng.Float64()*300)
	}
	return b.Bytes()
}

func writeLZO(t testing.TB, data []byte, opts ...lzo.WriterOption) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := lzo.NewWriter(&buf, opts...)
	if err != nil {
		t.Fatal(err)
	}
	// Several writes with flushes make short blocks, like checkpoints do.
	for len(data) > 0 {
		n := min(len(data), 100_000)
		if _, err := w.Write(data[:n]); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		data = data[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func runLzop(t testing.TB, stdin []byte, args ...string) []byte {
	t.Helper()
	p, err := exec.LookPath("lzop")
	if err != nil {
		t.Fatalf("lzop is not installed (%v): run `make test-deps`", err)
	}
	cmd := exec.Command(p, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("lzop %s: %v: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.Bytes()
}

func mergeLZOBytes(t testing.TB, srcs [][]byte) ([]byte, Result, error) {
	t.Helper()
	ss := make([]Source, len(srcs))
	for i, s := range srcs {
		ss[i] = bytes.NewReader(s)
	}
	var out bytes.Buffer
	res, err := MergeLZO(context.Background(), &out, ss)
	return out.Bytes(), res, err
}

// TestMergeLZO merges files of the project's writer and of lzop itself:
// lzop -t passes, lzop -d gives the sources' text concatenated, and every
// .lzo.index entry is a block boundary, the index listing every block.
func TestMergeLZO(t *testing.T) {
	var texts [][]byte
	var srcs [][]byte
	for i := 0; i < 4; i++ {
		txt := textLines(500+i*3000, uint64(i))
		texts = append(texts, txt)
		srcs = append(srcs, writeLZO(t, txt))
	}
	tool := textLines(4000, 9)
	texts = append(texts, tool)
	srcs = append(srcs, runLzop(t, tool, "-c")) // lzop's own file, default flags (adler32 of data)
	merged, res, err := mergeLZOBytes(t, srcs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Size != int64(len(merged)) || len(res.Sidecars) != 1 || res.Sidecars[0].Suffix != lzo.IndexSuffix {
		t.Fatalf("result %+v for %d bytes", res, len(merged))
	}
	runLzop(t, merged, "-t")
	want := bytes.Join(texts, nil)
	if got := runLzop(t, merged, "-d", "-c"); !bytes.Equal(got, want) {
		t.Fatalf("lzop -d of the merged file: %d bytes, want the %d of the sources' concatenation", len(got), len(want))
	}
	idx, err := lzo.ParseIndex(res.Sidecars[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	built, err := lzo.BuildIndex(bytes.NewReader(merged))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(built, res.Sidecars[0].Data) {
		t.Fatal("the .lzo.index is not the list of the merged file's blocks")
	}
	zr, err := lzo.NewReader(bytes.NewReader(merged))
	if err != nil {
		t.Fatal(err)
	}
	var plain []byte
	for i, off := range idx {
		b, err := lzo.ReadBlockAt(bytes.NewReader(merged), off, zr.Header())
		if err != nil {
			t.Fatalf("index entry %d (offset %d) is not a block: %v", i, off, err)
		}
		if plain, err = b.Decompress(plain); err != nil {
			t.Fatalf("index entry %d (offset %d): %v", i, off, err)
		}
	}
	if !bytes.Equal(plain, want) {
		t.Fatal("the blocks the index lists don't hold the sources' text")
	}
	// Blocks are copied as stored: the merged file's blocks, header and
	// checksums included, are the sources' bytes in order.
	var srcBlocks []byte
	for _, s := range srcs {
		srcBlocks = append(srcBlocks, rawBlocks(t, s)...)
	}
	if !bytes.Equal(rawBlocks(t, merged), srcBlocks) {
		t.Fatal("the merged file's blocks are not the sources' blocks byte for byte")
	}
}

// rawBlocks returns an lzop file's blocks as stored: from its first block
// to its end marker.
func rawBlocks(t testing.TB, file []byte) []byte {
	t.Helper()
	idx, err := lzo.BuildIndex(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if len(idx) == 0 {
		return nil
	}
	return file[binary.BigEndian.Uint64(idx) : len(file)-4]
}

func TestMergeLZORefuses(t *testing.T) {
	a := writeLZO(t, textLines(100, 1))
	crc := writeLZO(t, textLines(100, 2), lzo.WithChecksums(lzo.FlagCRC32D|lzo.FlagCRC32C))
	if _, _, err := mergeLZOBytes(t, [][]byte{a, crc}); !errors.Is(err, ErrIncompatible) {
		t.Fatalf("merge of files with other checksums: %v, want ErrIncompatible", err)
	}
	if _, _, err := mergeLZOBytes(t, [][]byte{a, a[:len(a)-4]}); !errors.Is(err, ErrBadSource) {
		t.Fatalf("merge of a file without its end marker: %v, want ErrBadSource", err)
	}
	if _, _, err := mergeLZOBytes(t, [][]byte{a, append(bytes.Clone(a), 'x')}); !errors.Is(err, ErrBadSource) {
		t.Fatalf("merge of a file with bytes after its end marker: %v, want ErrBadSource", err)
	}
	// A flipped byte in a compressed block is caught by its checksum of
	// compressed data, when the files have one.
	c2 := writeLZO(t, textLines(2000, 3), lzo.WithChecksums(lzo.FlagAdler32D|lzo.FlagAdler32C))
	bad := bytes.Clone(c2)
	idx, _ := lzo.BuildIndex(bytes.NewReader(bad))
	off := int(binary.BigEndian.Uint64(idx))
	bad[off+8+8+10] ^= 0x10
	if _, _, err := mergeLZOBytes(t, [][]byte{c2, bad}); !errors.Is(err, lzo.ErrChecksum) {
		t.Fatalf("merge of a corrupted block: %v, want lzo.ErrChecksum", err)
	}
}
