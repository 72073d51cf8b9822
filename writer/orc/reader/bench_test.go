package reader

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/landfall/landfall/internal/testenv"
)

// BenchmarkDecode measures batch decoding throughput in rows per second:
// demo-12-zlib is 1.9M rows of 9 int/string columns (RLE v2, dictionaries,
// zlib); testSeek is 32k rows of the full nested schema; testLz4 and
// testZstd are 10k rows of three bigints.
func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{"demo-12-zlib.orc", "TestOrcFile.testSeek.orc", "TestVectorOrcFile.testZstd.0.12.orc"} {
		b.Run(name, func(b *testing.B) {
			data, err := os.ReadFile(filepath.Join(testenv.SharedORC(b), name))
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			var rows int
			for b.Loop() {
				f, err := Open(bytes.NewReader(data), int64(len(data)))
				if err != nil {
					b.Fatal(err)
				}
				br, err := f.Batches()
				if err != nil {
					b.Fatal(err)
				}
				for {
					v, err := br.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					rows += v.Len
				}
				br.Close()
				f.Close()
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
