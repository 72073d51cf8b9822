package spec

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzUnmarshal feeds arbitrary bytes to every message decoder. Whatever
// decodes must re-encode to bytes that decode to the same message.
func FuzzUnmarshal(f *testing.F) {
	f.Add(Marshal(sampleFooter()))
	f.Add(Marshal(&PostScript{FooterLength: 10, Compression: CompressionZstd, Version: Version0_12, Magic: Magic}))
	f.Add([]byte{0x1a, 0x80, 0x80, 0x80, 0x80, 0x10})
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs := []Message{new(PostScript), new(Footer), new(Metadata), new(StripeFooter), new(RowIndex),
			new(BloomFilterIndex), new(ColumnStatistics), new(Type), new(FileTail), new(Encryption)}
		for _, m := range msgs {
			err := m.Unmarshal(b)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("%T: error %v does not wrap ErrCorrupt", m, err)
				}
				continue
			}
			out := Marshal(m)
			if err := m.Unmarshal(out); err != nil {
				t.Fatalf("%T: re-encoded message does not decode: %v", m, err)
			}
			if again := Marshal(m); !bytes.Equal(out, again) {
				t.Fatalf("%T: encoding not stable", m)
			}
		}
	})
}

// FuzzDecompress feeds arbitrary chunk streams to every decoder. The first
// byte picks the codec and the block size, so the corpus covers all of them.
func FuzzDecompress(f *testing.F) {
	for _, kind := range []CompressionKind{CompressionZlib, CompressionSnappy, CompressionLZ4, CompressionZstd} {
		c, err := NewCompressor(kind, 1000)
		if err != nil {
			f.Fatal(err)
		}
		enc, err := c.Append(nil, bytes.Repeat([]byte("orc fuzz seed "), 200))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append([]byte{byte(kind)}, enc...))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		kind := CompressionKind(b[0] & 7)
		blockSize := uint64(1000)
		if b[0]&8 != 0 {
			blockSize = DefaultCompressionBlockSize
		}
		d, err := NewDecompressor(kind, blockSize)
		if err != nil {
			if !errors.Is(err, ErrUnsupportedCompression) {
				t.Fatalf("new decompressor: %v", err)
			}
			return
		}
		defer d.Close()
		const limit = 1 << 20
		out, err := d.Decompress(nil, b[1:], limit)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrLimit) {
				t.Fatalf("%v: error %v wraps neither ErrCorrupt nor ErrLimit", kind, err)
			}
			return
		}
		if len(out) > limit {
			t.Fatalf("%v: %d bytes past the limit", kind, len(out))
		}
	})
}
