package spec

import (
	"bytes"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/landfall/landfall/internal/testenv"
)

func sampleFooter() *Footer {
	return &Footer{
		HeaderLength:  3,
		ContentLength: 1000,
		Stripes: []StripeInformation{
			{Offset: 3, IndexLength: 10, DataLength: 900, FooterLength: 87, NumberOfRows: 5, EncryptStripeID: 1, EncryptedLocalKeys: [][]byte{{1, 2}}},
		},
		Types: []Type{
			{Kind: TypeStruct, Subtypes: []uint32{1, 2, 3}, FieldNames: []string{"a", "b", "c"}},
			{Kind: TypeDecimal, Precision: 38, Scale: 18},
			{Kind: TypeVarchar, MaximumLength: 20, Attributes: []StringPair{{Key: "iceberg.id", Value: "7"}}},
			{Kind: TypeUnion, Subtypes: []uint32{4}},
			{Kind: TypeInt},
		},
		Metadata:     []UserMetadataItem{{Name: "k", Value: []byte{0, 1, 255}}},
		NumberOfRows: 5,
		Statistics: []ColumnStatistics{
			{NumberOfValues: Ptr[uint64](5), HasNull: Ptr(false), BytesOnDisk: Ptr[uint64](9),
				Collection: &CollectionStatistics{MinChildren: Ptr[uint64](1), MaxChildren: Ptr[uint64](4), TotalChildren: Ptr[uint64](9)}},
			{Decimal: &DecimalStatistics{Minimum: Ptr("-1.5"), Maximum: Ptr("2"), Sum: Ptr("3")}},
			{String: &StringStatistics{Minimum: Ptr(""), Maximum: Ptr("zz"), Sum: Ptr[int64](4), LowerBound: Ptr("a"), UpperBound: Ptr("b")}},
			{Timestamp: &TimestampStatistics{Minimum: Ptr[int64](-5), Maximum: Ptr[int64](5), MinimumUTC: Ptr[int64](-1), MaximumUTC: Ptr[int64](1), MinimumNanos: Ptr[int32](1), MaximumNanos: Ptr[int32](999999)}},
			{Int: &IntegerStatistics{Minimum: Ptr[int64](-1 << 63), Maximum: Ptr[int64](1<<63 - 1)}},
			{Double: &DoubleStatistics{Minimum: Ptr(-0.5), Maximum: Ptr(1e300), Sum: Ptr(3.0)}},
			{Bucket: &BucketStatistics{Count: []uint64{3, 0}}},
			{Date: &DateStatistics{Minimum: Ptr[int32](-719162), Maximum: Ptr[int32](2932896)}},
			{Binary: &BinaryStatistics{Sum: Ptr[int64](77)}},
		},
		RowIndexStride:  10000,
		Writer:          WriterCPP,
		Calendar:        CalendarProlepticGregorian,
		SoftwareVersion: "landfall test",
		Encryption: &Encryption{
			Mask:        []DataMask{{Name: "nullify", MaskParameters: []string{"x"}, Columns: []uint32{2}}},
			Key:         []EncryptionKey{{KeyName: "pii", KeyVersion: 1, Algorithm: EncryptionAESCTR128}},
			Variants:    []EncryptionVariant{{Root: 2, Key: 0, EncryptedKey: []byte{9}, StripeStatistics: []Stream{{Kind: StreamStripeStatistics, Column: 2, Length: 5}}, FileStatistics: []byte{1}}},
			KeyProvider: KeyProviderHadoop,
		},
	}
}

func TestMessagesRoundTrip(t *testing.T) {
	msgs := []struct{ in, out Message }{
		{sampleFooter(), new(Footer)},
		{&PostScript{FooterLength: 100, Compression: CompressionZstd, CompressionBlockSize: 262144, Version: []uint32{0, 12}, MetadataLength: 20, WriterVersion: 9, StripeStatisticsLength: 3, Magic: Magic}, new(PostScript)},
		{&StripeFooter{
			Streams:        []Stream{{Kind: StreamPresent, Column: 0, Length: 0}, {Kind: StreamData, Column: 1, Length: 12}, {Kind: StreamEncryptedData, Column: 2, Length: 3}},
			Columns:        []ColumnEncoding{{Kind: EncodingDirect}, {Kind: EncodingDictionaryV2, DictionarySize: 7, BloomEncoding: 1}},
			WriterTimezone: "America/Los_Angeles",
			Encryption:     []StripeEncryptionVariant{{Streams: []Stream{{Kind: StreamData, Column: 2, Length: 3}}, Encoding: []ColumnEncoding{{Kind: EncodingDirectV2}}}},
		}, new(StripeFooter)},
		{&RowIndex{Entry: []RowIndexEntry{{Positions: []uint64{0, 0, 0}, Statistics: &ColumnStatistics{NumberOfValues: Ptr[uint64](1)}}, {Positions: []uint64{1 << 40}}}}, new(RowIndex)},
		{&BloomFilterIndex{BloomFilter: []BloomFilter{{NumHashFunctions: 3, Bitset: []uint64{1, 1 << 63}}, {NumHashFunctions: 4, UTF8Bitset: []byte{1, 2, 3}}}}, new(BloomFilterIndex)},
		{&Metadata{StripeStats: []StripeStatistics{{ColStats: sampleFooter().Statistics}}}, new(Metadata)},
		{&ColumnarStripeStatistics{ColStats: sampleFooter().Statistics[:2]}, new(ColumnarStripeStatistics)},
		{&FileStatistics{Column: sampleFooter().Statistics[2:]}, new(FileStatistics)},
		{&FileTail{PostScript: &PostScript{FooterLength: 1, Magic: Magic}, Footer: sampleFooter(), FileLength: 99, PostScriptLength: 20}, new(FileTail)},
	}
	for _, m := range msgs {
		b := Marshal(m.in)
		if err := m.out.Unmarshal(b); err != nil {
			t.Fatalf("%T: unmarshal: %v", m.in, err)
		}
		if !reflect.DeepEqual(m.in, m.out) {
			t.Errorf("%T: round trip differs:\n in: %+v\nout: %+v", m.in, m.in, m.out)
		}
		if b2 := Marshal(m.out); !bytes.Equal(b, b2) {
			t.Errorf("%T: re-marshal differs", m.in)
		}
	}
}

func TestUnknownFieldsKept(t *testing.T) {
	ps := &PostScript{FooterLength: 5, Magic: Magic}
	b := Marshal(ps)
	// Append an unknown varint field 99 and an unknown bytes field 100.
	extra := []byte{0x98, 0x06, 0x2a, 0xa2, 0x06, 0x02, 'h', 'i'}
	b = append(extra, b...)
	var got PostScript
	if err := got.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Unknown, extra) || got.FooterLength != 5 || got.Magic != Magic {
		t.Fatalf("got %+v", got)
	}
	out := Marshal(&got)
	if !bytes.HasSuffix(out, []byte{0x82, 0xf4, 0x03, 0x03, 'O', 'R', 'C'}) {
		t.Fatalf("magic must stay last, got % x", out)
	}
}

func TestWrongWireTypeIsUnknown(t *testing.T) {
	// IntegerStatistics.minimum (field 1) sent as a bytes field: kept as
	// unknown, the field stays absent.
	b := []byte{0x0a, 0x01, 0x00, 0x10, 0x04}
	var s IntegerStatistics
	if err := s.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	if s.Minimum != nil || s.Maximum == nil || *s.Maximum != 2 || len(s.Unknown) != 3 {
		t.Fatalf("got %+v", s)
	}
}

func TestUnmarshalTruncated(t *testing.T) {
	b := Marshal(sampleFooter())
	for i := 1; i < len(b); i++ {
		var f Footer
		err := f.Unmarshal(b[:i])
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated at %d: error %v does not wrap ErrCorrupt", i, err)
		}
	}
	var f Footer
	if err := f.Unmarshal([]byte{0x1a, 0xff, 0xff, 0xff, 0xff, 0x0f}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("length past end: got %v", err)
	}
}

func TestChunkHeader(t *testing.T) {
	// The spec's examples: 100,000 compressed bytes, and 5 original bytes.
	if got := AppendChunkHeader(nil, 100000, false); !bytes.Equal(got, []byte{0x40, 0x0d, 0x03}) {
		t.Fatalf("got % x", got)
	}
	if got := AppendChunkHeader(nil, 5, true); !bytes.Equal(got, []byte{0x0b, 0x00, 0x00}) {
		t.Fatalf("got % x", got)
	}
	n, orig, err := ParseChunkHeader([]byte{0x40, 0x0d, 0x03})
	if n != 100000 || orig || err != nil {
		t.Fatalf("got %d %v %v", n, orig, err)
	}
}

func TestCompressionRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	random := make([]byte, 100000)
	rng.Read(random)
	text := []byte(strings.Repeat("landfall lands kafka into hive, exactly once. ", 3000))
	for _, kind := range []CompressionKind{CompressionNone, CompressionZlib, CompressionSnappy, CompressionLZ4, CompressionZstd} {
		for _, blockSize := range []int{1000, 65536, DefaultCompressionBlockSize} {
			c, err := NewCompressor(kind, blockSize)
			if err != nil {
				t.Fatal(err)
			}
			d, err := NewDecompressor(kind, uint64(blockSize))
			if err != nil {
				t.Fatal(err)
			}
			for name, in := range map[string][]byte{"random": random, "text": text, "empty": nil} {
				enc, err := c.Append(nil, in)
				if err != nil {
					t.Fatalf("%v/%d/%s: compress: %v", kind, blockSize, name, err)
				}
				if kind != CompressionNone && name == "text" && len(enc) > len(in)/3 {
					t.Errorf("%v/%d/%s: %d -> %d bytes, expected real compression", kind, blockSize, name, len(in), len(enc))
				}
				dec, err := d.Decompress(nil, enc, len(in))
				if err != nil {
					t.Fatalf("%v/%d/%s: decompress: %v", kind, blockSize, name, err)
				}
				if !bytes.Equal(dec, in) {
					t.Fatalf("%v/%d/%s: round trip differs", kind, blockSize, name)
				}
				if len(in) > 0 {
					if _, err := d.Decompress(nil, enc, len(in)-1); !errors.Is(err, ErrLimit) {
						t.Fatalf("%v/%d/%s: limit: got %v", kind, blockSize, name, err)
					}
				}
			}
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestDecompressRejectsOversizedChunks(t *testing.T) {
	big := make([]byte, 5000)
	for _, kind := range []CompressionKind{CompressionZlib, CompressionSnappy, CompressionLZ4, CompressionZstd} {
		c, err := NewCompressor(kind, len(big))
		if err != nil {
			t.Fatal(err)
		}
		enc, err := c.Append(nil, big)
		if err != nil {
			t.Fatal(err)
		}
		d, err := NewDecompressor(kind, 1000) // the file claims 1000-byte chunks
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Decompress(nil, enc, 1<<20); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%v: chunk expanding past block size: got %v, want ErrCorrupt", kind, err)
		}
		// An original chunk larger than the block size is corrupt too.
		orig := append(AppendChunkHeader(nil, 1001, true), make([]byte, 1001)...)
		if _, err := d.Decompress(nil, orig, 1<<20); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%v: oversized original chunk: got %v", kind, err)
		}
		// A chunk claiming more bytes than remain.
		if _, err := d.Decompress(nil, []byte{0x40, 0x0d, 0x03, 1}, 1<<20); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%v: truncated chunk: got %v", kind, err)
		}
		if _, err := d.Decompress(nil, []byte{0x40}, 1<<20); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%v: truncated header: got %v", kind, err)
		}
		d.Close()
	}
	if _, err := NewDecompressor(CompressionZlib, 1<<40); !errors.Is(err, ErrCorrupt) {
		t.Errorf("huge block size: got %v", err)
	}
	if _, err := NewDecompressor(CompressionBrotli, 0); !errors.Is(err, ErrUnsupportedCompression) {
		t.Errorf("brotli: got %v", err)
	}
}

// TestSharedFileTails parses the postscript and footer of every shared test
// file, which were written by ORC Java and C++ over many versions.
func TestSharedFileTails(t *testing.T) {
	dir := testenv.SharedORC(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.orc"))
	if len(files) < 40 {
		t.Fatalf("found %d test files in %s, want the 41 of MANIFEST.md", len(files), dir)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < 4 {
			continue // zero.orc
		}
		psLen := int(b[len(b)-1])
		var ps PostScript
		if err := ps.Unmarshal(b[len(b)-1-psLen : len(b)-1]); err != nil {
			t.Errorf("%s: postscript: %v", filepath.Base(f), err)
			continue
		}
		// Files of Hive 0.11 (orc_no_format.orc) have no magic in the
		// postscript; readers check the file header instead.
		if ps.Magic != Magic && (ps.Magic != "" || string(b[:3]) != Magic) {
			t.Errorf("%s: magic %q", filepath.Base(f), ps.Magic)
		}
		if ps.Compression == CompressionLZO {
			continue // needs writer/lzo; the reader's tests cover it
		}
		d, err := NewDecompressor(ps.Compression, ps.CompressionBlockSize)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		end := len(b) - 1 - psLen
		raw := b[end-int(ps.FooterLength) : end]
		fb, err := d.Decompress(nil, raw, 64<<20)
		if err != nil {
			t.Errorf("%s: footer: %v", filepath.Base(f), err)
			continue
		}
		var footer Footer
		if err := footer.Unmarshal(fb); err != nil {
			t.Errorf("%s: footer: %v", filepath.Base(f), err)
			continue
		}
		if !bytes.Equal(Marshal(&footer), fb) && len(footer.Unknown) == 0 {
			// Not an error: other writers may omit fields we always
			// write. Only check that a second round trip is stable.
			var again Footer
			if err := again.Unmarshal(Marshal(&footer)); err != nil || !reflect.DeepEqual(again, footer) {
				t.Errorf("%s: footer does not round-trip: %v", filepath.Base(f), err)
			}
		}
		if len(footer.Types) == 0 {
			t.Errorf("%s: no types", filepath.Base(f))
		}
		d.Close()
	}
}
