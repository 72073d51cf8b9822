package lzo

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzDecompress feeds arbitrary bytes to the LZO1X decompressor with an
// arbitrary declared size: it must return an error or the exact size, never
// panic, and it can't allocate since it writes only into dst.
func FuzzDecompress(f *testing.F) {
	var c Compressor
	for _, in := range [][]byte{{}, []byte("a"), []byte("hello hello hello hello"), logText(3000, 1), bytes.Repeat([]byte{0}, 5000)} {
		f.Add(c.Compress(nil, in), uint32(len(in)))
	}
	f.Fuzz(func(t *testing.T, src []byte, n uint32) {
		n %= 1 << 20
		dst := make([]byte, n)
		if err := Decompress(dst, src); err != nil {
			return
		}
		// What decoded must re-encode and decode to the same bytes.
		out := make([]byte, n)
		if err := Decompress(out, c.Compress(nil, dst)); err != nil || !bytes.Equal(out, dst) {
			t.Fatalf("round trip of decoded data: %v", err)
		}
	})
}

// FuzzRoundTrip checks that compression is lossless for any input.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("abcabcabcabcabcabcabc"))
	f.Add(logText(2000, 2))
	f.Fuzz(func(t *testing.T, in []byte) {
		var c Compressor
		comp := c.Compress(nil, in)
		if len(comp) > CompressBound(len(in)) {
			t.Fatalf("%d bytes compressed to %d, above the bound", len(in), len(comp))
		}
		out := make([]byte, len(in))
		if err := Decompress(out, comp); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, in) {
			t.Fatal("round trip differs")
		}
	})
}

// FuzzReader parses arbitrary bytes as an lzop file, block by block and as a
// stream: corrupt files give errors, never panics, and no block larger than
// the declared (and capped) sizes is allocated.
func FuzzReader(f *testing.F) {
	for _, opts := range [][]WriterOption{nil, {WithBlockSize(64), WithChecksums(FlagCRC32D | FlagCRC32C)}} {
		var buf bytes.Buffer
		w, _ := NewWriter(&buf, opts...)
		_, _ = w.Write(logText(300, 3))
		_, _ = w.Write(randomBytes(70, 3))
		_ = w.Close()
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, file []byte) {
		r, err := NewReader(bytes.NewReader(file))
		if err != nil {
			return
		}
		var total int64
		for {
			b, err := r.Next()
			if err != nil {
				break
			}
			if int64(b.CompressedLen) > int64(len(file)) {
				t.Fatalf("block claims %d bytes from a %d-byte file and was returned", b.CompressedLen, len(file))
			}
			out, err := b.Decompress(nil)
			if err == nil && len(out) != int(b.UncompressedLen) {
				t.Fatalf("block decompressed to %d bytes, declared %d", len(out), b.UncompressedLen)
			}
			total += int64(len(out))
		}
		r, err = NewReader(bytes.NewReader(file))
		if err != nil {
			t.Fatalf("header parsed once, not twice: %v", err)
		}
		n, err := io.Copy(io.Discard, r)
		if err == nil && n > total {
			t.Fatalf("stream read %d bytes, blocks held %d", n, total)
		}
		if err != nil && errors.Is(err, io.EOF) {
			t.Fatalf("stream read ended with a bare EOF error: %v", err)
		}
	})
}
