package orc

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/landfall/landfall/writer/lzo"
	"github.com/landfall/landfall/writer/orc/spec"
)

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// BenchmarkVsApacheORC converts the same JSON log lines with this writer
// and with Apache ORC's own `orc-tools convert` (both ZSTD), and writes them
// as text+lzo, then prints one table: rows per CPU-second (all threads of
// the process, so a JIT or GC thread counts against Java as GC counts
// against Go) and file sizes. Rows: LANDFALL_ORC_BENCH_ROWS (default
// 200,000, about 130 MB of JSON); LANDFALL_ORC_BENCH_DIR keeps the files.
//
//	LANDFALL_ORC_BENCH_ROWS=1600000 go test ./writer/orc/ -run '^$' -bench VsApacheORC -benchtime 1x
func BenchmarkVsApacheORC(b *testing.B) {
	rows := 200000
	if s := os.Getenv("LANDFALL_ORC_BENCH_ROWS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("LANDFALL_ORC_BENCH_ROWS=%q: want a positive number", s)
		}
		rows = n
	}
	jar := orcToolsJar(b)
	dir := b.TempDir()
	if keep := os.Getenv("LANDFALL_ORC_BENCH_DIR"); keep != "" {
		dir = keep // keep the files for inspection (orc-tools sizes, meta)
	}
	jsonPath := filepath.Join(dir, "logs.json")
	jf, err := os.Create(jsonPath)
	if err != nil {
		b.Fatal(err)
	}
	bw := bufio.NewWriterSize(jf, 1<<20)
	g := newLogGen(1)
	var jsonBytes int64
	for i := 0; i < rows; i++ {
		rec := g.next()
		bw.Write(rec)
		bw.WriteByte('\n')
		jsonBytes += int64(len(rec) + 1)
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := jf.Close(); err != nil {
		b.Fatal(err)
	}
	schema, err := ParseSchema(logSchema)
	if err != nil {
		b.Fatal(err)
	}

	// landfall: read the lines and write ORC+zstd, one goroutine.
	ourPath := filepath.Join(dir, "landfall.orc")
	cpu0, wall0 := cpuSeconds(), time.Now()
	if err := convertFile(jsonPath, ourPath, func(out *os.File) (interface {
		Append([]byte) error
		Close(map[string]string) error
	}, error) {
		return NewWriter(out, schema, WithCompression(spec.CompressionZstd, 0))
	}); err != nil {
		b.Fatal(err)
	}
	ourCPU, ourWall := cpuSeconds()-cpu0, time.Since(wall0).Seconds()

	// text+lzo with the lzo format of this repository.
	lzoPath := filepath.Join(dir, "landfall.lzo")
	lf, err := lzo.NewFormat()
	if err != nil {
		b.Fatal(err)
	}
	cpu0, wall0 = cpuSeconds(), time.Now()
	if err := convertFile(jsonPath, lzoPath, func(out *os.File) (interface {
		Append([]byte) error
		Close(map[string]string) error
	}, error) {
		return lf.NewEncoder(out)
	}); err != nil {
		b.Fatal(err)
	}
	lzoCPU := cpuSeconds() - cpu0
	lzoWall := time.Since(wall0).Seconds()

	// Apache ORC: orc-tools convert, ZSTD.
	javaPath := filepath.Join(dir, "apache.orc")
	cmd := exec.Command("java", "-Duser.timezone=UTC", "-jar", jar,
		"--define", "orc.compress=ZSTD",
		"convert", "-O", "-s", logSchema, "-t", "yyyy-MM-dd HH:mm:ss.SSS", "-o", javaPath, jsonPath)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	wall0 = time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("orc-tools convert: %v\n%s", err, tail(string(out), 2000))
	}
	javaWall := time.Since(wall0).Seconds()
	javaCPU := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()

	size := func(p string) int64 {
		st, err := os.Stat(p)
		if err != nil {
			b.Fatal(err)
		}
		return st.Size()
	}
	// Java's count, to be sure both wrote every row.
	meta := string(runOrcTools(b, "meta", javaPath, ourPath))
	want := fmt.Sprintf("Rows: %d\n", rows)
	if c := countSubstr(meta, want); c != 2 {
		b.Fatalf("orc-tools meta: %d of 2 files report %q", c, want)
	}
	var lzopSize int64
	if _, err := exec.LookPath("lzop"); err == nil {
		lz := filepath.Join(dir, "lzop-1.lzo")
		if out, err := exec.Command("lzop", "-1", "-o", lz, jsonPath).CombinedOutput(); err != nil {
			b.Fatalf("lzop: %v %s", err, out)
		}
		lzopSize = size(lz)
	}

	ours, theirs, lzoSize := size(ourPath), size(javaPath), size(lzoPath)
	fmt.Printf("\n%d rows, %.1f MB of JSON lines (%d B/row)\n", rows, float64(jsonBytes)/1e6, jsonBytes/int64(rows))
	fmt.Printf("%-28s %14s %12s %10s %14s\n", "writer", "rows/CPU-s", "CPU s", "wall s", "bytes")
	fmt.Printf("%-28s %14.0f %12.2f %10.2f %14d\n", "landfall orc+zstd", float64(rows)/ourCPU, ourCPU, ourWall, ours)
	fmt.Printf("%-28s %14.0f %12.2f %10.2f %14d\n", "apache orc-tools convert", float64(rows)/javaCPU, javaCPU, javaWall, theirs)
	fmt.Printf("%-28s %14.0f %12.2f %10.2f %14d\n", "landfall text+lzo", float64(rows)/lzoCPU, lzoCPU, lzoWall, lzoSize)
	if lzopSize > 0 {
		fmt.Printf("%-28s %14s %12s %10s %14d\n", "lzop -1", "", "", "", lzopSize)
	}
	fmt.Printf("speed vs Apache ORC: %.2fx per core; size vs Apache ORC: %+.1f%%; size vs text+lzo: %.1f%%\n",
		(float64(rows)/ourCPU)/(float64(rows)/javaCPU), 100*(float64(ours)/float64(theirs)-1), 100*float64(ours)/float64(lzoSize))
	b.ReportMetric(float64(rows)/ourCPU, "rows/cpu-s")
	b.ReportMetric(float64(ours)/float64(theirs), "size-ratio")
}

func countSubstr(s, sub string) int {
	n := 0
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			n++
		}
	}
	return n
}

func convertFile(in, out string, open func(*os.File) (interface {
	Append([]byte) error
	Close(map[string]string) error
}, error)) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	o, err := os.Create(out)
	if err != nil {
		return err
	}
	enc, err := open(o)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bufio.NewReaderSize(f, 1<<20))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if err := enc.Append(sc.Bytes()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if err := enc.Close(nil); err != nil {
		return err
	}
	return o.Close()
}
