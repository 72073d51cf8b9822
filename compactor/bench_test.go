package compactor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/landfall/landfall/writer/lzo"
	"github.com/landfall/landfall/writer/orc"
	"github.com/landfall/landfall/writer/orc/reader"
)

// The merge benchmark copies 8 sources into one file, next to decoding and
// re-encoding the same data, all into io.Discard (or /dev/null) from
// memory or the page cache, so that it measures CPU per byte of source:
//
//	go test -run '^$' -bench BenchmarkMerge -benchtime 3x -cpu 1 ./compactor/
//
// Apache ORC's `orc-tools merge` refuses landfall's files ("future
// writerVersion": it merges only files of the Java writer), so the Java
// re-encode is `orc-tools convert` of the sources into one file, which
// decodes and encodes every row and pays a JVM start (about 1 s here); lzop
// -d | lzop is two processes, so it uses up to two cores.

type benchData struct {
	dir                string
	orcRows            [][][]byte
	orcFiles, lzoFiles [][]byte
	orcPaths, lzoPaths []string
	orcBytes, lzoBytes int64
}

// benchSetup writes 8 ORC sources of 40,000 rows (about 0.8 MiB each) and 8
// lzop sources of 40,000 lines (about 1.7 MiB each), in memory and on disk
// for the tools.
func benchSetup(b *testing.B) *benchData {
	d := &benchData{dir: b.TempDir()}
	for i := 0; i < 8; i++ {
		rows := genRows(40_000, int64(i)*40_000, uint64(i))
		f := writeORC(b, rows, nil, orc.WithBloomFilters(0.01, "req"))
		d.orcRows = append(d.orcRows, rows)
		d.orcFiles = append(d.orcFiles, f)
		d.orcBytes += int64(len(f))
		d.orcPaths = append(d.orcPaths, writeFile(b, d.dir, fmt.Sprintf("src%d.orc", i), f))
		z := writeLZO(b, textLines(40_000, uint64(i)))
		d.lzoFiles = append(d.lzoFiles, z)
		d.lzoBytes += int64(len(z))
		d.lzoPaths = append(d.lzoPaths, writeFile(b, d.dir, fmt.Sprintf("src%d.lzo", i), z))
	}
	return d
}

func sources(files [][]byte) []Source {
	out := make([]Source, len(files))
	for i, f := range files {
		out[i] = bytes.NewReader(f)
	}
	return out
}

func BenchmarkMerge(b *testing.B) {
	d := benchSetup(b)
	ctx := context.Background()
	b.Run("orc/stripe-copy", func(b *testing.B) {
		b.SetBytes(d.orcBytes)
		for b.Loop() {
			if _, err := MergeORC(ctx, io.Discard, sources(d.orcFiles)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("orc/decode+encode-go", func(b *testing.B) {
		// The project's reader decodes every column of every source and
		// its writer encodes the same records (from their JSON, its input)
		// into one file: what merging by rewriting costs.
		schema := testORCSchema(b)
		b.SetBytes(d.orcBytes)
		for b.Loop() {
			for _, f := range d.orcFiles {
				rf, err := reader.Open(bytes.NewReader(f), int64(len(f)))
				if err != nil {
					b.Fatal(err)
				}
				br, err := rf.Batches()
				if err != nil {
					b.Fatal(err)
				}
				for {
					if _, err := br.Next(); errors.Is(err, io.EOF) {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
				br.Close()
				rf.Close()
			}
			w, err := orc.NewWriter(io.Discard, schema, orc.WithBloomFilters(0.01, "req"))
			if err != nil {
				b.Fatal(err)
			}
			for _, rows := range d.orcRows {
				for _, r := range rows {
					if err := w.Append(r); err != nil {
						b.Fatal(err)
					}
				}
			}
			if err := w.Close(nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("orc/orc-tools-convert", func(b *testing.B) {
		jar := orcToolsJar(b)
		out := filepath.Join(d.dir, "merged.orc")
		b.SetBytes(d.orcBytes)
		for b.Loop() {
			os.Remove(out)
			args := append([]string{"-Duser.timezone=UTC", "-Xmx512m", "-jar", jar, "convert", "-o", out}, d.orcPaths...)
			if msg, err := exec.Command("java", args...).CombinedOutput(); err != nil {
				b.Fatalf("orc-tools convert: %v\n%s", err, msg)
			}
		}
	})
	b.Run("lzo/block-copy", func(b *testing.B) {
		b.SetBytes(d.lzoBytes)
		for b.Loop() {
			if _, err := MergeLZO(ctx, io.Discard, sources(d.lzoFiles)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("lzo/decode+encode-go", func(b *testing.B) {
		b.SetBytes(d.lzoBytes)
		for b.Loop() {
			w, err := lzo.NewWriter(io.Discard)
			if err != nil {
				b.Fatal(err)
			}
			for _, f := range d.lzoFiles {
				r, err := lzo.NewReader(bytes.NewReader(f))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(w, r); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("lzo/lzop-d|lzop", func(b *testing.B) {
		if _, err := exec.LookPath("lzop"); err != nil {
			b.Fatal("lzop is not installed: run `make test-deps`")
		}
		b.SetBytes(d.lzoBytes)
		script := `lzop -d -c "$@" | lzop -c > /dev/null`
		for b.Loop() {
			args := append([]string{"-c", script, "sh"}, d.lzoPaths...)
			if msg, err := exec.Command("sh", args...).CombinedOutput(); err != nil {
				b.Fatalf("lzop -d | lzop: %v\n%s", err, msg)
			}
		}
	})
}
