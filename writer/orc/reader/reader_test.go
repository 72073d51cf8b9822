package reader

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/internal/testenv"
	"github.com/landfall/landfall/writer/orc/spec"
)

func openFile(t testing.TB, name string, opts ...Option) *File {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.SharedORC(t), name))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Open(bytes.NewReader(b), int64(len(b)), opts...)
	if err != nil {
		t.Fatalf("%s: open: %v", name, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// formatTimestamp prints a timestamp as the expected files do:
// "YYYY-MM-DD hh:mm:ss.f" with trailing zeros trimmed to one digit.
func formatTimestamp(ts time.Time) string {
	frac := strings.TrimRight(fmt.Sprintf("%09d", ts.Nanosecond()), "0")
	if frac == "" {
		frac = "0"
	}
	return ts.Format("2006-01-02 15:04:05") + "." + frac
}

// compareValue checks a value the reader returned against the expected
// JSON (decoded with UseNumber) for a column of type t.
func compareValue(t *Type, exp, got any) error {
	if exp == nil || got == nil {
		if exp != nil || got != nil {
			return fmt.Errorf("want %v, got %v", exp, got)
		}
		return nil
	}
	switch t.Kind {
	case spec.TypeBoolean:
		if exp != got {
			return fmt.Errorf("want %v, got %v", exp, got)
		}
	case spec.TypeByte, spec.TypeShort, spec.TypeInt, spec.TypeLong:
		if exp.(json.Number).String() != strconv.FormatInt(got.(int64), 10) {
			return fmt.Errorf("want %v, got %v", exp, got)
		}
	case spec.TypeFloat, spec.TypeDouble:
		e, err := exp.(json.Number).Float64()
		if err != nil {
			return err
		}
		g, tol := 0.0, 1e-12
		if t.Kind == spec.TypeFloat {
			g, tol = float64(got.(float32)), 1e-6
		} else {
			g = got.(float64)
		}
		if e != g && math.Abs(e-g) > tol*math.Max(math.Abs(e), math.Abs(g)) {
			return fmt.Errorf("want %v, got %v", e, g)
		}
	case spec.TypeString, spec.TypeVarchar, spec.TypeChar:
		if exp != got {
			return fmt.Errorf("want %q, got %q", exp, got)
		}
	case spec.TypeBinary:
		arr, g := exp.([]any), got.([]byte)
		if len(arr) != len(g) {
			return fmt.Errorf("want %v, got %v", arr, g)
		}
		for i := range arr {
			if arr[i].(json.Number).String() != strconv.Itoa(int(g[i])) {
				return fmt.Errorf("want %v, got %v", arr, g)
			}
		}
	case spec.TypeTimestamp, spec.TypeTimestampInstant:
		if s := formatTimestamp(got.(time.Time)); exp != s {
			return fmt.Errorf("want %v, got %v", exp, s)
		}
	case spec.TypeDate:
		if s := got.(time.Time).Format("2006-01-02"); exp != s {
			return fmt.Errorf("want %v, got %v", exp, s)
		}
	case spec.TypeDecimal:
		e, ok := new(big.Rat).SetString(exp.(json.Number).String())
		if !ok {
			return fmt.Errorf("bad expected decimal %v", exp)
		}
		d := got.(Decimal)
		if e.Cmp(d.Rat()) != 0 {
			return fmt.Errorf("want %v, got %v", exp, d.String())
		}
	case spec.TypeList:
		arr, g := exp.([]any), got.([]any)
		if len(arr) != len(g) {
			return fmt.Errorf("want %d elements, got %d", len(arr), len(g))
		}
		for i := range arr {
			if err := compareValue(t.Children[0], arr[i], g[i]); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
	case spec.TypeMap:
		arr, g := exp.([]any), got.([]KeyValue)
		if len(arr) != len(g) {
			return fmt.Errorf("want %d entries, got %d", len(arr), len(g))
		}
		for i := range arr {
			kv := arr[i].(map[string]any)
			if err := compareValue(t.Children[0], kv["key"], g[i].Key); err != nil {
				return fmt.Errorf("key %d: %w", i, err)
			}
			if err := compareValue(t.Children[1], kv["value"], g[i].Value); err != nil {
				return fmt.Errorf("value %d: %w", i, err)
			}
		}
	case spec.TypeStruct:
		m, g := exp.(map[string]any), got.([]Field)
		if len(m) != len(g) {
			return fmt.Errorf("want %d fields, got %d", len(m), len(g))
		}
		for i, f := range g {
			e, ok := m[f.Name]
			if !ok {
				return fmt.Errorf("unexpected field %s", f.Name)
			}
			if err := compareValue(t.Children[i], e, f.Value); err != nil {
				return fmt.Errorf("%s: %w", f.Name, err)
			}
		}
	case spec.TypeUnion:
		m, g := exp.(map[string]any), got.(Union)
		if m["tag"].(json.Number).String() != strconv.Itoa(g.Tag) {
			return fmt.Errorf("want tag %v, got %d", m["tag"], g.Tag)
		}
		return compareValue(t.Children[g.Tag], m["value"], g.Value)
	default:
		return fmt.Errorf("no comparison for %v", t.Kind)
	}
	return nil
}

// TestExpected reads every file that has an expected-output file and
// compares every row.
func TestExpected(t *testing.T) {
	dir := testenv.SharedORC(t)
	expected, err := filepath.Glob(filepath.Join(dir, "expected", "*.jsn.gz"))
	if err != nil || len(expected) < 26 {
		t.Fatalf("found %d expected files in %s (%v), want 26", len(expected), dir, err)
	}
	for _, e := range expected {
		name := strings.TrimSuffix(filepath.Base(e), ".jsn.gz") + ".orc"
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := openFile(t, name)
			ef, err := os.Open(e)
			if err != nil {
				t.Fatal(err)
			}
			defer ef.Close()
			zr, err := gzip.NewReader(ef)
			if err != nil {
				t.Fatal(err)
			}
			lines := bufio.NewScanner(zr)
			lines.Buffer(nil, 1<<20)
			rows, err := f.Rows()
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			n := 0
			for rows.Next() {
				if !lines.Scan() {
					t.Fatalf("row %d: the expected file has only %d rows", n, n)
				}
				dec := json.NewDecoder(bytes.NewReader(lines.Bytes()))
				dec.UseNumber()
				var exp any
				if err := dec.Decode(&exp); err != nil {
					t.Fatalf("expected row %d: %v", n, err)
				}
				if err := compareValue(f.Schema(), exp, rows.Value()); err != nil {
					t.Fatalf("row %d: %v\nwant %s", n, err, lines.Bytes())
				}
				n++
			}
			if err := rows.Err(); err != nil {
				t.Fatalf("after %d rows: %v", n, err)
			}
			if lines.Scan() {
				t.Fatalf("read %d rows, the expected file has more", n)
			}
			if uint64(n) != f.NumRows() {
				t.Fatalf("read %d rows, footer says %d", n, f.NumRows())
			}
		})
	}
}

func readAll(t testing.TB, f *File) []any {
	t.Helper()
	rows, err := f.Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []any
	for rows.Next() {
		out = append(out, rows.Value())
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("after %d rows: %v", len(out), err)
	}
	return out
}

var _ = io.EOF
var _ = errors.Is
