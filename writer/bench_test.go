package writer_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/landfall/landfall/writer"
	"github.com/landfall/landfall/writer/fsys"
	"github.com/landfall/landfall/writer/lzo"
)

// record is the seq-th line of part p: log-like text of 80 to 400 bytes
// that compresses about as well as real logs, naming its part and seq so
// that a read-back can tell a lost or doubled record.
func record(dst []byte, p, seq int) []byte {
	r := rand.New(rand.NewPCG(uint64(p), uint64(seq)))
	dst = fmt.Appendf(dst, `{"part":%d,"seq":%d,"host":"ip-10-0-%d-%d","status":%d,"latency_ms":%d,"trace":"%016x","msg":"`,
		p, seq, r.IntN(4), r.IntN(50), []int{200, 200, 200, 404, 500}[r.IntN(5)], r.IntN(3000), r.Uint64())
	for n := 20 + r.IntN(300); n > 0; n -= 10 {
		dst = append(dst, []string{"request ok", "cache miss", "retrying..", "user login", "slow query"}[r.IntN(5)]...)
	}
	return append(dst, `"}`...)
}

// benchLines is 64 MiB of log lines, ~250 bytes each.
var benchLines = sync.OnceValue(func() [][]byte {
	var lines [][]byte
	for n, seq := 0, 0; n < 64<<20; seq++ {
		l := record(nil, seq%50, seq)
		lines = append(lines, l)
		n += len(l) + 1
	}
	return lines
})

func cpuNow(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPart is one part file alone, under the default budget: records
// appended one by one to a file on the local filesystem, rolled and
// closed, as the committer does with a busy partition. The legacy-*
// formats are the text format as it was before memory budgets (a 256 KiB
// bufio per part file, a streaming zstd encoder per file), kept here to
// compare with in the same run. The machine may be shared: cpu_MB/s, the
// data over the CPU time this process used, is the figure to compare.
//
//	go test -run '^$' -bench BenchmarkPart -benchtime 4x -count 5 ./writer/
func BenchmarkPart(b *testing.B) {
	lines := benchLines()
	size := 0
	for _, l := range lines {
		size += len(l) + 1
	}
	formats := []struct {
		name string
		new  func() (writer.Format, error)
	}{
		{"text", func() (writer.Format, error) { return writer.NewText("none") }},
		{"legacy-text", func() (writer.Format, error) { return &legacyText{}, nil }},
		{"zstd", func() (writer.Format, error) { return writer.NewText("zstd") }},
		{"legacy-zstd", func() (writer.Format, error) { return &legacyText{zstd: true}, nil }},
		{"lzo", func() (writer.Format, error) { return lzo.NewFormat() }},
	}
	for _, ft := range formats {
		b.Run(ft.name, func(b *testing.B) {
			fs, err := fsys.NewLocal(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			f, err := ft.new()
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			b.ResetTimer()
			start := cpuNow(b)
			var out int64
			i := 0
			for b.Loop() {
				name := fmt.Sprintf("staging/p%d%s", i, f.Ext())
				i++
				p, err := writer.Create(fs, f, name)
				if err != nil {
					b.Fatal(err)
				}
				for _, l := range lines {
					if err := p.Append(l); err != nil {
						b.Fatal(err)
					}
				}
				r, err := p.Roll(nil)
				if err != nil {
					b.Fatal(err)
				}
				if err := p.Close(); err != nil {
					b.Fatal(err)
				}
				out = r.Size
				b.StopTimer()
				for _, s := range append(r.Sidecars, "") {
					if err := fs.Remove(name + s); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
			}
			cpu := (cpuNow(b) - start).Seconds()
			b.ReportMetric(float64(size)*float64(b.N)/cpu/1e6, "cpu_MB/s")
			b.ReportMetric(float64(out)/float64(size), "ratio")
		})
	}
}

// legacyText is the text format before memory budgets: a 256 KiB bufio in
// front of the file (the Part added it then), and zstd streaming through an
// encoder of its own per file.
type legacyText struct{ zstd bool }

func (t *legacyText) Name() string { return "text" }
func (t *legacyText) Ext() string  { return ".txt" }

func (t *legacyText) NewEncoder(w io.Writer) (writer.Encoder, error) {
	buf := bufio.NewWriterSize(w, 256<<10)
	if !t.zstd {
		return &legacyEncoder{w: buf, buf: buf}, nil
	}
	z, err := zstd.NewWriter(buf, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
	if err != nil {
		return nil, err
	}
	return &legacyEncoder{w: z, z: z, buf: buf}, nil
}

type legacyEncoder struct {
	w   io.Writer
	z   *zstd.Encoder
	buf *bufio.Writer
}

func (e *legacyEncoder) Append(v []byte) error {
	if bytes.IndexByte(v, '\n') >= 0 {
		return &writer.RecordError{Reason: "record contains a newline"}
	}
	if _, err := e.w.Write(v); err != nil {
		return err
	}
	_, err := e.w.Write([]byte{'\n'})
	return err
}

func (e *legacyEncoder) Close(map[string]string) error {
	if e.z != nil {
		if err := e.z.Close(); err != nil {
			return err
		}
	}
	return e.buf.Flush()
}
