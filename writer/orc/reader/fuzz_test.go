package reader

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/landfall/landfall/internal/testenv"
	"github.com/landfall/landfall/writer/orc/spec"
)

// FuzzRead opens arbitrary bytes as an ORC file and reads everything in it:
// statistics, stripe footers, indexes and rows. Corrupt input must end in an
// error — never a panic, a hang or an allocation the limits don't bound.
func FuzzRead(f *testing.F) {
	// The small shared files are the seeds; testdata/fuzz/FuzzRead holds
	// truncated and mutated ones and what fuzzing found interesting.
	dir := testenv.SharedORC(f)
	for _, name := range []string{
		"TestOrcFile.test1.orc", "TestOrcFile.testTimestamp.orc", "TestOrcFile.testStringAndBinaryStatistics.orc",
		"TestOrcFile.testStripeLevelStats.orc", "TestOrcFile.testSargSkipPickupGroupWithoutIndexCPlusPlus.orc",
		"TestOrcFile.testWithoutCompressionBlockSize.orc", "bad_bloom_filter_1.6.0.orc", "complextypes_iceberg.orc",
		"decimal64_v2.orc", "decimal64_v2_cplusplus.orc", "orc_no_format.orc", "version1999.orc",
		"encrypted/sample1.orc", "corrupt/stripe_footer_bad_column_encodings.orc", "corrupt/negative_dict_entry_lengths.orc",
	} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := readWhole(b, WithMaxStreamSize(1<<20), WithMaxTailSize(1<<20))
		if err == nil {
			return
		}
		for _, known := range []error{spec.ErrCorrupt, spec.ErrLimit, spec.ErrUnsupportedCompression, ErrNotORC, ErrUnsupportedVersion, ErrEncrypted} {
			if errors.Is(err, known) {
				return
			}
		}
		t.Fatalf("error wraps no documented error: %v", err)
	})
}

// FuzzLZOChunk feeds arbitrary chunks to the LZO1X size search: it must
// end in a prefix of the buffer or an error, whatever the input.
func FuzzLZOChunk(f *testing.F) {
	b, err := os.ReadFile(filepath.Join(testenv.SharedORC(f), "TestVectorOrcFile.testLzo.orc"))
	if err != nil {
		f.Fatal(err)
	}
	// The first stream chunk of the file, without its 3-byte header.
	n, _, _ := spec.ParseChunkHeader(b[3:])
	f.Add(b[6 : 6+n])
	f.Add([]byte{0x11, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, src []byte) {
		buf := make([]byte, 1000)
		out, err := decodeLZOChunk(buf, src)
		if err == nil && (len(out) > len(buf) || (len(out) > 0 && &out[0] != &buf[0])) {
			t.Fatalf("decoded %d bytes outside the buffer", len(out))
		}
	})
}
