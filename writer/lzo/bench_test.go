package lzo

import (
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The machine is shared, so wall-clock MB/s swings with its load. Every
// benchmark here also reports cpu_MB/s, the data size over the CPU time the
// work itself used (this process's for ours, the child's for lzop): that is
// the number to compare across them.

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measureCPU reports cpu_MB/s for n bytes processed per iteration; call it
// with the CPU time taken right after ResetTimer.
func measureCPU(b *testing.B, start time.Duration, n int) {
	cpu := (cpuTime(b) - start).Seconds()
	b.ReportMetric(float64(n)*float64(b.N)/cpu/1e6, "cpu_MB/s")
}

// benchSize is the amount of log text each benchmark iteration processes.
// 64 MiB keeps the working set far beyond the caches, like a real stream,
// while generating it stays quick; run with -benchtime 4x or more for
// ~256 MiB of data per measurement.
const benchSize = 64 << 20

var benchData = sync.OnceValue(func() []byte { return logText(benchSize, 2025) })

// benchBlocks is benchData compressed block by block, as a Writer does.
var benchBlocks = sync.OnceValue(func() [][]byte {
	var c Compressor
	in := benchData()
	var blocks [][]byte
	for p := in; len(p) > 0; {
		n := min(len(p), DefaultBlockSize)
		blocks = append(blocks, c.Compress(nil, p[:n]))
		p = p[n:]
	}
	return blocks
})

// BenchmarkCompress is the raw LZO1X-1 compressor on DefaultBlockSize blocks.
func BenchmarkCompress(b *testing.B) {
	in := benchData()
	var c Compressor
	out := make([]byte, 0, CompressBound(DefaultBlockSize))
	b.SetBytes(int64(len(in)))
	b.ResetTimer()
	start := cpuTime(b)
	var total int
	for b.Loop() {
		total = 0
		for p := in; len(p) > 0; {
			n := min(len(p), DefaultBlockSize)
			out = c.Compress(out[:0], p[:n])
			total += len(out)
			p = p[n:]
		}
	}
	measureCPU(b, start, len(in))
	b.ReportMetric(float64(total), "compressed_bytes")
	b.ReportMetric(float64(total)/float64(len(in)), "ratio")
}

// BenchmarkWriter is the whole lzop writer: compression, adler32 of the
// data and of the compressed block, framing — what lzop -1 does.
func BenchmarkWriter(b *testing.B) {
	in := benchData()
	b.SetBytes(int64(len(in)))
	b.ResetTimer()
	start := cpuTime(b)
	var n int64
	for b.Loop() {
		cw := &countWriter{}
		w, err := NewWriter(cw)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Write(in); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		n = cw.n
	}
	measureCPU(b, start, len(in))
	b.ReportMetric(float64(n), "compressed_bytes")
	b.ReportMetric(float64(n)/float64(len(in)), "ratio")
}

// BenchmarkDecompress is the raw LZO1X decompressor.
func BenchmarkDecompress(b *testing.B) {
	blocks := benchBlocks()
	in := benchData()
	out := make([]byte, DefaultBlockSize)
	b.SetBytes(int64(len(in)))
	b.ResetTimer()
	start := cpuTime(b)
	for b.Loop() {
		p := in
		for _, blk := range blocks {
			n := min(len(p), DefaultBlockSize)
			if err := Decompress(out[:n], blk); err != nil {
				b.Fatal(err)
			}
			p = p[n:]
		}
	}
	measureCPU(b, start, len(in))
}

// BenchmarkReader is the whole lzop reader, checksums verified.
func BenchmarkReader(b *testing.B) {
	in := benchData()
	var file bytes.Buffer
	w, _ := NewWriter(&file)
	if _, err := w.Write(in); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	b.ResetTimer()
	start := cpuTime(b)
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(file.Bytes()))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
	measureCPU(b, start, len(in))
}

// BenchmarkLzop runs the lzop binary on the same data in the same run, for
// comparison. Its MB/s includes feeding it through a pipe; cpu_MB/s counts
// only the CPU time lzop itself used.
func BenchmarkLzop(b *testing.B) {
	in := benchData()
	for _, level := range []string{"-1", "-3"} {
		b.Run("compress"+level, func(b *testing.B) {
			benchLzop(b, in, level, "-c")
		})
	}
	var file bytes.Buffer
	cmd := exec.Command(lzopPath(b), "-1", "-c")
	cmd.Stdin, cmd.Stdout = bytes.NewReader(in), &file
	if err := cmd.Run(); err != nil {
		b.Fatal(err)
	}
	b.Run("decompress", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		benchLzop(b, file.Bytes(), "-d", "-c")
		b.SetBytes(int64(len(in)))
	})
}

func benchLzop(b *testing.B, in []byte, args ...string) {
	path := lzopPath(b)
	b.SetBytes(int64(len(benchData())))
	var cpu float64
	var out int64
	for b.Loop() {
		cw := &countWriter{}
		cmd := exec.Command(path, args...)
		cmd.Stdin, cmd.Stdout = bytes.NewReader(in), cw
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		cpu += (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
		out = cw.n
	}
	b.ReportMetric(float64(len(benchData()))*float64(b.N)/cpu/1e6, "cpu_MB/s")
	b.ReportMetric(float64(out), "output_bytes")
	b.ReportMetric(float64(out)/float64(len(benchData())), "ratio")
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkFormatAppend is a part file's path: records appended one by one
// to a Format's encoder, under the default memory budget, which a file
// alone never feels.
func BenchmarkFormatAppend(b *testing.B) {
	in := benchData()
	lines := bytes.Split(in[:bytes.LastIndexByte(in, '\n')], []byte("\n"))
	f, err := NewFormat()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	b.ResetTimer()
	start := cpuTime(b)
	for b.Loop() {
		enc, err := f.NewEncoder(&countWriter{})
		if err != nil {
			b.Fatal(err)
		}
		for _, l := range lines {
			if err := enc.Append(l); err != nil {
				b.Fatal(err)
			}
		}
		if err := enc.Close(nil); err != nil {
			b.Fatal(err)
		}
	}
	measureCPU(b, start, len(in))
}

// BenchmarkBlockSize compares the default 64 KiB blocks with lzop's 256 KiB
// in one run: the whole writer (ratio, cpu_MB/s) and the whole reader
// (cpu_MB/s) on the same log text. Run it as
//
//	go test -run '^$' -bench BlockSize -benchtime 4x ./writer/lzo/
func BenchmarkBlockSize(b *testing.B) {
	in := benchData()
	for _, size := range []int{DefaultBlockSize, MaxWriteBlockSize} {
		name := fmt.Sprintf("%dKiB", size>>10)
		var file bytes.Buffer
		// Touched before the clock starts: a first write into fresh pages
		// costs this VM a fault per page, which would bill the first size.
		file.Write(in)
		b.Run(name+"/write", func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ResetTimer()
			start := cpuTime(b)
			for b.Loop() {
				file.Reset()
				w, err := NewWriter(&file, WithBlockSize(size))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := w.Write(in); err != nil {
					b.Fatal(err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
			measureCPU(b, start, len(in))
			b.ReportMetric(float64(file.Len()), "compressed_bytes")
			b.ReportMetric(float64(file.Len())/float64(len(in)), "ratio")
		})
		b.Run(name+"/read", func(b *testing.B) {
			if file.Len() == 0 {
				b.Fatal("the write sub-benchmark did not run")
			}
			b.SetBytes(int64(len(in)))
			b.ResetTimer()
			start := cpuTime(b)
			for b.Loop() {
				r, err := NewReader(bytes.NewReader(file.Bytes()))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, r); err != nil {
					b.Fatal(err)
				}
			}
			measureCPU(b, start, len(in))
		})
	}
}
