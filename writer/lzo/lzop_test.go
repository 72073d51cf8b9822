package lzo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// containerCases are the inputs every interoperability test runs: empty,
// one byte, incompressible, lines longer than a block, and log text.
func containerCases() map[string][]byte {
	long := bytes.Repeat([]byte("a line far longer than one block, "), 30000) // ~1 MiB
	long = append(long, '\n')
	return map[string][]byte{
		"empty":         {},
		"one byte":      {'x'},
		"random 3 MiB":  randomBytes(3<<20, 11),
		"long lines":    append(append(append([]byte{}, long...), logText(100_000, 4)...), long...),
		"log 5 MiB":     logText(5<<20, 12),
		"block minus 1": logText(DefaultBlockSize-1, 13),
		"block exactly": logText(DefaultBlockSize, 14),
		"block plus 1":  logText(DefaultBlockSize+1, 15),
	}
}

func writeLzop(t testing.TB, in []byte, opts ...WriterOption) ([]byte, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, opts...)
	if err != nil {
		t.Fatal(err)
	}
	// Write in uneven pieces to exercise buffering across block edges.
	for p := in; len(p) > 0; {
		n := min(len(p), 1+len(p)%99991)
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), w.Index()
}

func readAll(t testing.TB, file []byte) []byte {
	t.Helper()
	r, err := NewReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLzopReadsOurFiles(t *testing.T) {
	for name, in := range containerCases() {
		for _, opts := range [][]WriterOption{
			nil,
			{WithBlockSize(64 << 10), WithChecksums(FlagCRC32D | FlagCRC32C), WithName("x.log"), WithModTime(time.Unix(1763700000, 0))},
			{WithBlockSize(1000), WithChecksums(0)},
		} {
			file, _ := writeLzop(t, in, opts...)
			got := runLzop(t, file, "-d", "-c")
			if !bytes.Equal(got, in) {
				t.Fatalf("%s: lzop -d -c gave %d bytes, want %d, differing", name, len(got), len(in))
			}
			runLzop(t, file, "-t") // lzop's own integrity test, checksums included
		}
	}
}

func TestWeReadLzopFiles(t *testing.T) {
	for name, in := range containerCases() {
		for _, level := range []string{"-1", "-3", "-9"} {
			if level == "-9" && len(in) > 1<<20 {
				in = in[:1<<20] // LZO1X-999 is slow; a MiB covers its encoder
			}
			for _, extra := range [][]string{nil, {"--crc32"}} {
				args := append([]string{level, "-c"}, extra...)
				file := runLzop(t, in, args...)
				if got := readAll(t, file); !bytes.Equal(got, in) {
					t.Fatalf("%s: lzop %s: read %d bytes, want %d, differing", name, strings.Join(args, " "), len(got), len(in))
				}
			}
		}
	}
}

func TestWeReadLzopHeader(t *testing.T) {
	for _, c := range []struct {
		level  string
		method uint8
	}{{"-1", MethodLZO1X115}, {"-3", MethodLZO1X1}, {"-9", MethodLZO1X999}} {
		file := runLzop(t, []byte("hello\n"), c.level, "-c")
		r, err := NewReader(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		h := r.Header()
		if h.Method != c.method || h.Flags&FlagAdler32D == 0 || h.Version < 0x1030 {
			t.Errorf("lzop %s: header %+v: want method %d with adler32 of data", c.level, h, c.method)
		}
	}
}

// TestWriterStoresIncompressibleBlocks checks the lzop rule that a block
// compression doesn't shrink is stored as is, without a checksum of
// compressed data, and that lzop agrees.
func TestWriterStoresIncompressibleBlocks(t *testing.T) {
	in := append(randomBytes(100_000, 3), logText(100_000, 3)...)
	file, _ := writeLzop(t, in, WithBlockSize(100_000))
	r, err := NewReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	var stored []bool
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, b.Stored())
		if b.Stored() && b.Adler32C != 0 {
			t.Errorf("stored block at %d has a compressed-data checksum", b.Offset)
		}
	}
	if fmt.Sprint(stored) != "[true false]" {
		t.Fatalf("stored flags of blocks = %v, want [true false]", stored)
	}
	if got := runLzop(t, file, "-d", "-c"); !bytes.Equal(got, in) {
		t.Fatal("lzop -d differs")
	}
}

// patternWriter checks streamed bytes against an endless repetition of
// pattern without keeping them.
type patternWriter struct {
	pattern []byte
	n       int64
	err     error
}

func (p *patternWriter) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 && p.err == nil {
		off := int(p.n % int64(len(p.pattern)))
		k := min(len(b), len(p.pattern)-off)
		if !bytes.Equal(b[:k], p.pattern[off:off+k]) {
			p.err = fmt.Errorf("stream differs within bytes %d..%d", p.n, p.n+int64(k))
		}
		p.n += int64(k)
		b = b[k:]
	}
	return n, nil
}

// repeatReader yields pattern repeated until total bytes.
type repeatReader struct {
	pattern []byte
	left    int64
	off     int
}

func (r *repeatReader) Read(b []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	n := copy(b[:min(int64(len(b)), r.left)], r.pattern[r.off:])
	r.off = (r.off + n) % len(r.pattern)
	r.left -= int64(n)
	return n, nil
}

// Sizes of the streaming interoperability tests, in uncompressed bytes: 4 GiB
// from our Writer into lzop -d (past 2^32, where a 32-bit count would wrap)
// and 2 GiB from lzop -1 into our Reader; together about 17 s on this
// loaded 2-core machine. The compressed offsets stay below 2^31 (log text
// compresses about 3.5:1); the index's 64-bit offsets are checked by type.
const (
	streamToLzop   = 4 << 30
	streamFromLzop = 2 << 30
)

// TestLzopStreamsGigabytes pipes gigabytes of log text through our Writer
// into lzop -d, and through lzop -1 into our Reader, never holding them.
func TestLzopStreamsGigabytes(t *testing.T) {
	pattern := logText(8<<20+12345, 21) // odd length: blocks don't line up with it
	t.Run("ours to lzop", func(t *testing.T) {
		cmd := exec.Command(lzopPath(t), "-d", "-c")
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		check := &patternWriter{pattern: pattern}
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = check, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		w, err := NewWriter(stdin)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(w, &repeatReader{pattern: pattern, left: streamToLzop})
		if err == nil {
			err = w.Close()
		}
		if err == nil {
			err = stdin.Close()
		}
		if werr := cmd.Wait(); err != nil || werr != nil {
			t.Fatalf("stream through lzop -d: write: %v, lzop: %v: %s", err, werr, stderr.String())
		}
		if check.err != nil || check.n != streamToLzop {
			t.Fatalf("lzop -d gave %d bytes, want %d: %v", check.n, int64(streamToLzop), check.err)
		}
		if n := len(w.Index()) / 8; n != streamToLzop/DefaultBlockSize {
			t.Fatalf("index has %d entries, want %d", n, streamToLzop/DefaultBlockSize)
		}
	})
	t.Run("lzop to ours", func(t *testing.T) {
		cmd := exec.Command(lzopPath(t), "-1", "-c")
		cmd.Stdin = &repeatReader{pattern: pattern, left: streamFromLzop}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r, err := NewReader(stdout)
		if err != nil {
			t.Fatal(err)
		}
		check := &patternWriter{pattern: pattern}
		if _, err := io.Copy(check, r); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("lzop -1: %v: %s", err, stderr.String())
		}
		if check.err != nil || check.n != streamFromLzop {
			t.Fatalf("read %d bytes, want %d: %v", check.n, int64(streamFromLzop), check.err)
		}
	})
}

// TestDefaultBlocksFitHadoopsLzoBuffer: with default settings, every block
// of a file, from a lone Writer and from a Format's encoder, holds at most
// io.compression.codec.lzo.buffersize's default (64 KiB) uncompressed and
// compressed, which aircompressor's LzopCodec (Spark's, Trino's) needs to
// read it; and files of lzop's 256 KiB blocks, as landfall wrote before,
// still read here and with lzop.
func TestDefaultBlocksFitHadoopsLzoBuffer(t *testing.T) {
	in := append(logText(1<<20, 21), randomBytes(300_000, 21)...)
	lone, _ := writeLzop(t, in)

	f := newTestFormat(t)
	var viaFormat bytes.Buffer
	enc, err := f.NewEncoder(&viaFormat)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range bytes.SplitAfter(logText(1<<20, 22), []byte("\n")) {
		if err := enc.Append(bytes.TrimSuffix(l, []byte("\n"))); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Close(nil); err != nil {
		t.Fatal(err)
	}

	for name, file := range map[string][]byte{"writer": lone, "format": viaFormat.Bytes()} {
		zr, err := NewReader(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			b, err := zr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			n++
			if b.UncompressedLen > HadoopLzoBufferSize || b.CompressedLen > HadoopLzoBufferSize {
				t.Fatalf("%s: block at offset %d is %d bytes (%d compressed), more than Hadoop's default lzo buffer of %d",
					name, b.Offset, b.UncompressedLen, b.CompressedLen, HadoopLzoBufferSize)
			}
		}
		if n < 16 {
			t.Fatalf("%s: %d blocks for over 1 MiB, want at least 16 of 64 KiB", name, n)
		}
	}

	old, _ := writeLzop(t, in, WithBlockSize(MaxWriteBlockSize))
	if got := readAll(t, old); !bytes.Equal(got, in) {
		t.Fatal("a file of 256 KiB blocks does not read back")
	}
	cmd := exec.Command(lzopPath(t), "-t")
	cmd.Stdin = bytes.NewReader(old)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("lzop -t on 256 KiB blocks: %v: %s", err, out)
	}
}
