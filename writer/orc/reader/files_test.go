package reader

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/landfall/landfall/internal/testenv"
	"github.com/landfall/landfall/writer/orc/spec"
)

// colStats accumulates what the footer's column statistics describe.
type colStats struct {
	count          uint64
	intMin, intMax int64
	intSum         big.Int
	fMin, fMax     float64
	sMin, sMax     string
	dMin, dMax     *big.Rat
	trues          uint64
	seen           bool
}

func (s *colStats) addVector(v *Vector, acc []colStats) {
	st := &acc[v.Type.ID]
	for i := 0; i < v.Len; i++ {
		if v.IsNull(i) {
			continue
		}
		st.count++
		first := !st.seen
		st.seen = true
		switch v.Type.Kind {
		case spec.TypeBoolean:
			if v.Int[i] != 0 {
				st.trues++
			}
		case spec.TypeByte, spec.TypeShort, spec.TypeInt, spec.TypeLong, spec.TypeDate:
			x := v.Int[i]
			if first || x < st.intMin {
				st.intMin = x
			}
			if first || x > st.intMax {
				st.intMax = x
			}
			st.intSum.Add(&st.intSum, big.NewInt(x))
		case spec.TypeFloat, spec.TypeDouble:
			x := v.Float[i]
			if math.IsNaN(x) {
				continue
			}
			if first || x < st.fMin {
				st.fMin = x
			}
			if first || x > st.fMax {
				st.fMax = x
			}
		case spec.TypeString, spec.TypeVarchar, spec.TypeChar:
			x := string(v.Bytes[i])
			if first || x < st.sMin {
				st.sMin = x
			}
			if first || x > st.sMax {
				st.sMax = x
			}
		case spec.TypeDecimal:
			x := v.Decimal[i].Rat()
			if first || x.Cmp(st.dMin) < 0 {
				st.dMin = x
			}
			if first || x.Cmp(st.dMax) > 0 {
				st.dMax = x
			}
		}
	}
	for _, c := range v.Children {
		s.addVector(c, acc)
	}
}

// checkStats compares what was decoded with the file's column statistics,
// which the writer computed from the values it was given: an independent
// check for files that have no expected output.
func checkStats(t testing.TB, f *File, acc []colStats) error {
	stats := f.Statistics()
	if len(stats) > 0 && stats[0].NumberOfValues != nil && *stats[0].NumberOfValues == 0 && acc[0].count > 0 {
		// Some Java test files were written with statistics left at zero.
		t.Logf("the footer records no statistics (0 values for %d rows)", acc[0].count)
		return nil
	}
	var errs []string
	for id := range acc {
		if id >= len(stats) {
			break
		}
		want, got := &stats[id], &acc[id]
		t := typeByID(f.Schema(), id)
		if want.NumberOfValues != nil && *want.NumberOfValues != got.count {
			errs = append(errs, fmt.Sprintf("column %d (%v): %d values, statistics say %d", id, t.Kind, got.count, *want.NumberOfValues))
		}
		if got.count == 0 {
			continue
		}
		if s := want.Int; s != nil && s.Minimum != nil && s.Maximum != nil {
			if *s.Minimum != got.intMin || *s.Maximum != got.intMax {
				errs = append(errs, fmt.Sprintf("column %d: int min/max %d/%d, statistics say %d/%d", id, got.intMin, got.intMax, *s.Minimum, *s.Maximum))
			}
			if s.Sum != nil && got.intSum.Cmp(big.NewInt(*s.Sum)) != 0 {
				errs = append(errs, fmt.Sprintf("column %d: int sum %v, statistics say %d", id, &got.intSum, *s.Sum))
			}
		}
		if s := want.Date; s != nil && s.Minimum != nil && s.Maximum != nil {
			if int64(*s.Minimum) != got.intMin || int64(*s.Maximum) != got.intMax {
				errs = append(errs, fmt.Sprintf("column %d: date min/max %d/%d, statistics say %d/%d", id, got.intMin, got.intMax, *s.Minimum, *s.Maximum))
			}
		}
		if s := want.Double; s != nil && s.Minimum != nil && s.Maximum != nil {
			if *s.Minimum != got.fMin || *s.Maximum != got.fMax {
				errs = append(errs, fmt.Sprintf("column %d: double min/max %v/%v, statistics say %v/%v", id, got.fMin, got.fMax, *s.Minimum, *s.Maximum))
			}
		}
		// Writers before HIVE-8732 computed string min/max wrongly.
		if s := want.String; s != nil && s.Minimum != nil && s.Maximum != nil && f.PostScript().WriterVersion >= spec.WriterVersionHive8732 {
			if *s.Minimum != got.sMin || *s.Maximum != got.sMax {
				errs = append(errs, fmt.Sprintf("column %d: string min/max %q/%q, statistics say %q/%q", id, got.sMin, got.sMax, *s.Minimum, *s.Maximum))
			}
		}
		if s := want.Bucket; s != nil && len(s.Count) > 0 && s.Count[0] != got.trues {
			errs = append(errs, fmt.Sprintf("column %d: %d true values, statistics say %d", id, got.trues, s.Count[0]))
		}
		// Hive 0.11 decimals (precision 0) have statistics at full scale
		// while values read at scale 6; DECIMAL64 minimums were wrong
		// before ORC-517.
		pt := f.Footer().Types[id]
		dec64Bug := len(f.PostScript().Version) > 0 && f.PostScript().Version[0] == 1 && f.PostScript().WriterVersion < spec.WriterVersionORC517
		if s := want.Decimal; s != nil && s.Minimum != nil && s.Maximum != nil && pt.Precision != 0 && !dec64Bug {
			mn, ok1 := new(big.Rat).SetString(*s.Minimum)
			mx, ok2 := new(big.Rat).SetString(*s.Maximum)
			if !ok1 || !ok2 || mn.Cmp(got.dMin) != 0 || mx.Cmp(got.dMax) != 0 {
				errs = append(errs, fmt.Sprintf("column %d: decimal min/max %v/%v, statistics say %s/%s", id, got.dMin.FloatString(6), got.dMax.FloatString(6), *s.Minimum, *s.Maximum))
			}
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}

func typeByID(t *Type, id int) *Type {
	if t.ID == id {
		return t
	}
	for _, c := range t.Children {
		if id >= c.ID && id <= c.MaxID {
			return typeByID(c, id)
		}
	}
	return nil
}

// readStats reads a whole file with the batch API and accumulates stats.
func readStats(t testing.TB, f *File) ([]colStats, uint64) {
	t.Helper()
	br, err := f.Batches()
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	acc := make([]colStats, len(f.Footer().Types))
	var rows uint64
	for {
		v, err := br.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d rows: %v", rows, err)
		}
		rows += uint64(v.Len)
		acc[0].addVector(v, acc)
	}
	return acc, rows
}

// TestStatistics reads every readable file and checks the decoded values
// against the column statistics of the footer.
func TestStatistics(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testenv.SharedORC(t), "*.orc"))
	files = append(files, filepath.Join(testenv.SharedORC(t), "encrypted", "sample1.orc"), filepath.Join(testenv.SharedORC(t), "encrypted", "sample2.orc"))
	skip := map[string]string{
		"zero.orc":        "not an ORC file",
		"version1999.orc": "future version",
		// The footer of this file says 0 rows and has no statistics.
		"TestOrcFile.testWithoutCompressionBlockSize.orc": "no statistics",
	}
	for _, path := range files {
		name := filepath.Base(path)
		if skip[name] != "" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rel, _ := filepath.Rel(testenv.SharedORC(t), path)
			f := openFile(t, rel)
			acc, rows := readStats(t, f)
			if rows != f.NumRows() {
				t.Errorf("read %d rows, footer says %d", rows, f.NumRows())
			}
			if err := checkStats(t, f, acc); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestFilesWithoutExpected checks what the MANIFEST says about files that
// have no expected output.
func TestFilesWithoutExpected(t *testing.T) {
	t.Run("row counts", func(t *testing.T) {
		for name, want := range map[string]struct {
			rows    int
			stripes int
			schema  string
		}{
			"TestOrcFile.testSargSkipPickupGroupWithoutIndexCPlusPlus.orc": {10000, -1, "struct<x:int,y:string>"},
			"TestOrcFile.testSargSkipPickupGroupWithoutIndexJava.orc":      {10000, -1, "struct<x:int,y:string>"},
			"TestOrcFile.testSeek.orc":                                     {32768, 7, ""},
			"bad_bloom_filter_1.6.0.orc":                                   {5, 1, "struct<id:bigint,name:string>"},
			"bad_bloom_filter_1.6.11.orc":                                  {5, 1, "struct<id:bigint,name:string>"},
			"orc_no_format.orc":                                            {5, 1, "struct<_col0:array<string>,_col1:map<int,string>,_col2:struct<name:string,score:int>>"},
			"decimal64_v2.orc":                                             {10, 1, "struct<a:bigint,b:decimal(12,0),c:decimal(20,2),d:decimal(12,2),e:decimal(2,2)>"},
			"decimal64_v2_cplusplus.orc":                                   {10, 1, ""},
			"complextypes_iceberg.orc":                                     {1, 1, ""},
			"demo-11-zlib.orc":                                             {1920800, 385, ""},
			"demo-12-zlib.orc":                                             {1920800, 1, ""},
			"TestVectorOrcFile.testZstd.0.12.orc":                          {10000, 1, "struct<x:bigint,y:int,z:bigint>"},
		} {
			f := openFile(t, name)
			if want.schema != "" && f.Schema().String() != want.schema {
				t.Errorf("%s: schema %s, want %s", name, f.Schema(), want.schema)
			}
			if want.stripes >= 0 && len(f.Stripes()) != want.stripes {
				t.Errorf("%s: %d stripes, want %d", name, len(f.Stripes()), want.stripes)
			}
			_, rows := readStats(t, f)
			if rows != uint64(want.rows) || f.NumRows() != uint64(want.rows) {
				t.Errorf("%s: read %d rows, footer %d, want %d", name, rows, f.NumRows(), want.rows)
			}
		}
	})
	t.Run("without compression block size", func(t *testing.T) {
		// The footer says 0 rows, but the stripe holds 1..100 (the Java
		// test expects exactly that); the reader trusts the stripes.
		f := openFile(t, "TestOrcFile.testWithoutCompressionBlockSize.orc")
		if f.PostScript().CompressionBlockSize != 0 || f.Compression() != spec.CompressionSnappy {
			t.Fatalf("postscript %+v", f.PostScript())
		}
		got := readAll(t, f)
		if len(got) != 100 {
			t.Fatalf("%d rows, want 100", len(got))
		}
		for i, v := range got {
			if v != int64(i+1) {
				t.Fatalf("row %d = %v, want %d", i, v, i+1)
			}
		}
	})
	t.Run("zstd row numbers", func(t *testing.T) {
		f := openFile(t, "TestVectorOrcFile.testZstd.0.12.orc")
		for i, v := range readAll(t, f) {
			if y := v.([]Field)[1].Value; y != int64(i) {
				t.Fatalf("row %d: y = %v", i, y)
			}
		}
	})
	t.Run("bad bloom filters are ignored", func(t *testing.T) {
		for _, name := range []string{"bad_bloom_filter_1.6.0.orc", "bad_bloom_filter_1.6.11.orc"} {
			f := openFile(t, name)
			var ids []any
			for _, v := range readAll(t, f) {
				ids = append(ids, v.([]Field)[0].Value)
			}
			if fmt.Sprint(ids) != "[0 1 2 3 18000000000]" {
				t.Errorf("%s: ids %v", name, ids)
			}
		}
	})
	t.Run("iceberg attributes", func(t *testing.T) {
		f := openFile(t, "complextypes_iceberg.orc")
		n := 0
		var walk func(*Type)
		walk = func(tp *Type) {
			if tp.Attributes["iceberg.id"] != "" {
				n++
			}
			for _, c := range tp.Children {
				walk(c)
			}
		}
		walk(f.Schema())
		if n < len(f.Footer().Types)/2 {
			t.Errorf("only %d of %d types carry iceberg.id", n, len(f.Footer().Types))
		}
		if got := len(readAll(t, f)); got != 1 {
			t.Errorf("%d rows", got)
		}
	})
	t.Run("demo 11 and 12 hold the same rows", func(t *testing.T) {
		a, b := openFile(t, "demo-11-zlib.orc"), openFile(t, "demo-12-zlib.orc")
		ra, err := a.Batches(WithBatchSize(1000))
		if err != nil {
			t.Fatal(err)
		}
		rb, err := b.Batches(WithBatchSize(1000))
		if err != nil {
			t.Fatal(err)
		}
		rows := 0
		for {
			va, erra := ra.Next()
			vb, errb := rb.Next()
			if erra == io.EOF && errb == io.EOF {
				break
			}
			if erra != nil || errb != nil {
				t.Fatalf("after %d rows: %v / %v", rows, erra, errb)
			}
			if va.Len != vb.Len {
				t.Fatalf("batch sizes %d / %d", va.Len, vb.Len)
			}
			for c := range va.Children {
				ca, cb := va.Children[c], vb.Children[c]
				for i := 0; i < va.Len; i++ {
					if ca.IsNull(i) != cb.IsNull(i) ||
						(ca.Int != nil && ca.Int[i] != cb.Int[i]) ||
						(ca.Bytes != nil && !bytes.Equal(ca.Bytes[i], cb.Bytes[i])) {
						t.Fatalf("row %d column %d differs: %v / %v", rows+i, c, ca.Value(i), cb.Value(i))
					}
				}
			}
			rows += va.Len
		}
		if rows != 1920800 {
			t.Fatalf("%d rows", rows)
		}
	})
	t.Run("encrypted columns read masked", func(t *testing.T) {
		hex := regexp.MustCompile(`^[0-9A-F]{64}$`)
		for _, name := range []string{"encrypted/sample1.orc", "encrypted/sample2.orc"} {
			f := openFile(t, name)
			if f.Footer().Encryption == nil || len(f.Footer().Encryption.Variants) == 0 {
				t.Fatalf("%s: no encryption variants in the footer", name)
			}
			got := readAll(t, f)
			if len(got) != 1 {
				t.Fatalf("%s: %d rows", name, len(got))
			}
			row := got[0].([]Field)
			if row[0].Value != nil {
				t.Errorf("%s: ssn %v, want null (nullify mask)", name, row[0].Value)
			}
			if s, _ := row[1].Value.(string); !hex.MatchString(s) {
				t.Errorf("%s: email %q, want a SHA-256 hex (sha256 mask)", name, s)
			}
			if s, _ := row[2].Value.(string); s == "" {
				t.Errorf("%s: name %q, want the unencrypted value", name, s)
			}
		}
	})
}

// TestBadFiles checks that files that can't be read fail with the right
// error — and never panic. Corrupt files must fail when their rows are read,
// which is what the ORC C++ reader does with them.
func TestBadFiles(t *testing.T) {
	for name, want := range map[string]error{
		"zero.orc":        ErrNotORC,
		"version1999.orc": ErrUnsupportedVersion,
		"corrupt/missing_blob_stream_in_string_dict.orc":   spec.ErrCorrupt,
		"corrupt/missing_length_stream_in_string_dict.orc": spec.ErrCorrupt,
		"corrupt/negative_dict_entry_lengths.orc":          spec.ErrCorrupt,
		"corrupt/stripe_footer_bad_column_encodings.orc":   spec.ErrCorrupt,
	} {
		b, err := os.ReadFile(filepath.Join(testenv.SharedORC(t), name))
		if err != nil {
			t.Fatal(err)
		}
		err = readRows(b)
		if !errors.Is(err, want) {
			t.Errorf("%s: got %v, want an error wrapping %v", name, err, want)
		} else {
			t.Logf("%s: %v", name, err)
		}
		if err := readWhole(b); err == nil {
			t.Errorf("%s: reading everything succeeded", name)
		}
	}
}

// readRows opens b and reads its rows, returning the first error.
func readRows(b []byte, opts ...Option) error {
	f, err := Open(bytes.NewReader(b), int64(len(b)), opts...)
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := f.Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

// readWhole opens b and reads every row, stripe footer, row index and
// statistic, returning the first error.
func readWhole(b []byte, opts ...Option) error {
	f, err := Open(bytes.NewReader(b), int64(len(b)), opts...)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.StripeStatistics(); err != nil {
		return err
	}
	for i := range f.Stripes() {
		s, err := f.Stripe(i)
		if err != nil {
			return err
		}
		for _, st := range s.Streams {
			switch st.Kind {
			case spec.StreamRowIndex:
				if _, err := f.RowIndex(i, st.Column); err != nil {
					return err
				}
			case spec.StreamBloomFilter, spec.StreamBloomFilterUTF8:
				if _, _, err := f.BloomFilterIndex(i, st.Column); err != nil {
					return err
				}
			}
		}
	}
	br, err := f.Batches(WithMaxElements(1<<16), WithMaxDictionary(1<<16))
	if err != nil {
		return err
	}
	defer br.Close()
	for rows := 0; rows < 1<<22; {
		v, err := br.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		rows += v.Len
		for i := 0; i < v.Len && i < 4; i++ {
			v.Value(i)
		}
	}
	return nil
}
