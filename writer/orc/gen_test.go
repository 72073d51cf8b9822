package orc

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/landfall/landfall/writer/orc/spec"
)

// Random schemas and records for the round-trip and interoperability
// tests. Every generated value comes with its canonical form: a string that
// each reader's output (Apache ORC tools' JSON, pyarrow's values) is turned
// into independently, so that the comparison checks values, not formatting.

var primitiveGen = []string{"boolean", "tinyint", "smallint", "int", "bigint", "float", "double",
	"string", "varchar(5)", "char(4)", "binary", "timestamp", "date", "decimal(10,2)", "decimal(38,6)", "decimal(5,0)"}

func randomType(rng *rand.Rand, depth int) string {
	if depth >= 3 || rng.IntN(4) > 0 {
		return primitiveGen[rng.IntN(len(primitiveGen))]
	}
	switch rng.IntN(3) {
	case 0:
		return "array<" + randomType(rng, depth+1) + ">"
	case 1:
		key := []string{"string", "int"}[rng.IntN(2)]
		return "map<" + key + "," + randomType(rng, depth+1) + ">"
	}
	return randomStruct(rng, depth+1, 1+rng.IntN(4))
}

func randomStruct(rng *rand.Rand, depth, fields int) string {
	var b strings.Builder
	b.WriteString("struct<")
	for i := 0; i < fields; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "f%d_%d:%s", depth, i, randomType(rng, depth))
	}
	b.WriteByte('>')
	return b.String()
}

type gen struct {
	rng      *rand.Rand
	nullRate int // one in nullRate values is null (0: none)
	lowCard  []string
}

func newGen(seed uint64) *gen {
	g := &gen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), nullRate: 8}
	for i := 0; i < 20; i++ {
		g.lowCard = append(g.lowCard, fmt.Sprintf("value-%d-%s", i, strings.Repeat("x", i%4)))
	}
	g.lowCard = append(g.lowCard, "", "Ünïcödé ✓", "日本語のテキスト", "tab\tand\nnewline", "quote\"back\\slash")
	return g
}

// record makes one JSON record for a struct schema and its canonical row.
func (g *gen) record(t *Type) (string, string) {
	var js, canon strings.Builder
	g.fields(t, &js, &canon)
	return js.String(), canon.String()
}

func (g *gen) fields(t *Type, js, canon *strings.Builder) {
	js.WriteByte('{')
	canon.WriteByte('{')
	first := true
	for i, ct := range t.Children {
		if i > 0 {
			canon.WriteByte(',')
		}
		if g.rng.IntN(12) == 0 {
			canon.WriteString("null") // field left out of the JSON
			continue
		}
		if !first {
			js.WriteByte(',')
		}
		first = false
		name := t.FieldNames[i]
		if g.rng.IntN(4) == 0 {
			name = strings.ToUpper(name) // Hive matches names case-insensitively
		}
		js.WriteString(strconv.Quote(name))
		js.WriteByte(':')
		g.value(ct, js, canon)
	}
	js.WriteByte('}')
	canon.WriteByte('}')
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func (g *gen) randString() string {
	r := g.rng
	if r.IntN(2) == 0 {
		return g.lowCard[r.IntN(len(g.lowCard))]
	}
	n := r.IntN(12)
	var b strings.Builder
	for i := 0; i < n; i++ {
		switch r.IntN(6) {
		case 0:
			b.WriteRune(rune(0x80 + r.IntN(0x700)))
		case 1:
			b.WriteRune(rune(0x4e00 + r.IntN(0x1000)))
		default:
			b.WriteByte(byte('a' + r.IntN(26)))
		}
	}
	return b.String()
}

func (g *gen) value(t *Type, js, canon *strings.Builder) {
	r := g.rng
	if g.nullRate > 0 && r.IntN(g.nullRate) == 0 {
		js.WriteString("null")
		canon.WriteString("null")
		return
	}
	switch t.Kind {
	case spec.TypeBoolean:
		v := r.IntN(2) == 0
		if r.IntN(5) == 0 {
			js.WriteString(strconv.Quote(strings.ToUpper(strconv.FormatBool(v))))
		} else {
			js.WriteString(strconv.FormatBool(v))
		}
		canon.WriteString(strconv.FormatBool(v))
	case spec.TypeByte, spec.TypeShort, spec.TypeInt, spec.TypeLong:
		bitsN := map[spec.TypeKind]uint{spec.TypeByte: 8, spec.TypeShort: 16, spec.TypeInt: 32, spec.TypeLong: 64}[t.Kind]
		var v int64
		switch r.IntN(4) {
		case 0:
			v = int64(r.Uint64()) >> (64 - bitsN)
		case 1:
			v = int64(r.IntN(100))
		default:
			v = int64(r.IntN(20000)) - 10000
			if bitsN == 8 {
				v = int64(int8(v))
			}
		}
		if r.IntN(6) == 0 {
			js.WriteString(strconv.Quote(strconv.FormatInt(v, 10)))
		} else {
			js.WriteString(strconv.FormatInt(v, 10))
		}
		canon.WriteString(strconv.FormatInt(v, 10))
	case spec.TypeFloat:
		f := float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(12)-4)))
		js.WriteString(strconv.FormatFloat(float64(f), 'g', -1, 64))
		canon.WriteString(canonFloat(float64(f), 32))
	case spec.TypeDouble:
		f := r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20))
		js.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
		canon.WriteString(canonFloat(f, 64))
	case spec.TypeString, spec.TypeVarchar, spec.TypeChar:
		s := g.randString()
		js.WriteString(jsonString(s))
		switch t.Kind {
		case spec.TypeVarchar:
			s = string(truncateChars([]byte(s), t.MaxLength))
		case spec.TypeChar:
			s = strings.TrimRight(string(truncateChars([]byte(s), t.MaxLength)), " ")
		}
		canon.WriteString(strconv.Quote(s))
	case spec.TypeBinary:
		b := make([]byte, r.IntN(10))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		js.WriteString(strconv.Quote(base64.StdEncoding.EncodeToString(b)))
		canon.WriteString(hex.EncodeToString(b))
	case spec.TypeTimestamp:
		secs := r.Int64N(4_000_000_000)
		if r.IntN(10) == 0 {
			secs = -r.Int64N(2_000_000_000) // before 1970
		}
		var nanos int64
		switch r.IntN(4) {
		case 0:
		case 1:
			nanos = r.Int64N(1000) * 1_000_000
		case 2:
			nanos = r.Int64N(1_000_000) * 1000
		default:
			nanos = r.Int64N(1_000_000_000)
		}
		if secs == -1 && nanos > 999999 {
			secs = -2 // unrepresentable: the writer rejects it (see convert.go)
		}
		if nanos%1_000_000 == 0 && r.IntN(3) == 0 {
			js.WriteString(strconv.FormatInt(secs*1000+nanos/1_000_000, 10))
		} else {
			ts := time.Unix(secs, nanos).UTC()
			js.WriteString(strconv.Quote(ts.Format("2006-01-02 15:04:05.999999999")))
		}
		canon.WriteString(canonTimestamp(secs, nanos))
	case spec.TypeDate:
		days := r.Int64N(200*365) - 70*365
		if r.IntN(4) == 0 {
			js.WriteString(strconv.FormatInt(days, 10))
		} else {
			js.WriteString(strconv.Quote(time.Unix(days*86400, 0).UTC().Format("2006-01-02")))
		}
		canon.WriteString(strconv.FormatInt(days, 10))
	case spec.TypeDecimal:
		nd := 1 + r.IntN(t.Precision)
		digits := make([]byte, nd)
		for i := range digits {
			digits[i] = byte('0' + r.IntN(10))
		}
		text := string(digits)
		if t.Scale > 0 {
			for len(text) <= t.Scale {
				text = "0" + text
			}
			text = text[:len(text)-t.Scale] + "." + text[len(text)-t.Scale:]
		}
		if r.IntN(2) == 0 {
			text = "-" + text
		}
		v, ok := parseDecimal([]byte(text), t.Precision, t.Scale)
		if !ok {
			panic("generated decimal does not parse: " + text)
		}
		if r.IntN(2) == 0 {
			js.WriteString(strconv.Quote(text))
		} else {
			js.WriteString(text)
		}
		canon.WriteString(decimalString(v, t.Scale))
	case spec.TypeStruct:
		g.fields(t, js, canon)
	case spec.TypeList:
		n := r.IntN(4)
		js.WriteByte('[')
		canon.WriteByte('[')
		for i := 0; i < n; i++ {
			if i > 0 {
				js.WriteByte(',')
				canon.WriteByte(',')
			}
			g.value(t.Children[0], js, canon)
		}
		js.WriteByte(']')
		canon.WriteByte(']')
	case spec.TypeMap:
		n := r.IntN(4)
		js.WriteByte('{')
		canon.WriteByte('{')
		for i := 0; i < n; i++ {
			if i > 0 {
				js.WriteByte(',')
				canon.WriteByte(',')
			}
			var key, keyCanon string
			if t.Children[0].Kind == spec.TypeInt {
				k := int64(i*1000) + int64(r.IntN(1000)) - 500
				key, keyCanon = strconv.FormatInt(k, 10), strconv.FormatInt(k, 10)
			} else {
				key = fmt.Sprintf("k%d-%s", i, g.randString())
				keyCanon = strconv.Quote(key)
			}
			js.WriteString(jsonString(key))
			js.WriteByte(':')
			canon.WriteString(keyCanon)
			canon.WriteByte(':')
			g.value(t.Children[1], js, canon)
		}
		js.WriteByte('}')
		canon.WriteByte('}')
	}
}

func canonFloat(f float64, bitSize int) string {
	if bitSize == 32 {
		return strconv.FormatFloat(float64(float32(f)), 'g', -1, 32)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func canonTimestamp(secs, nanos int64) string {
	return fmt.Sprintf("%d.%09d", secs, nanos)
}

// canonJava turns a value of Apache ORC tools' JSON dump into canonical form.
func canonJava(t *Type, v any) (string, error) {
	if v == nil {
		return "null", nil
	}
	switch t.Kind {
	case spec.TypeBoolean:
		b, ok := v.(bool)
		if !ok {
			return "", fmt.Errorf("boolean: %v", v)
		}
		return strconv.FormatBool(b), nil
	case spec.TypeByte, spec.TypeShort, spec.TypeInt, spec.TypeLong:
		return fmt.Sprint(v), nil
	case spec.TypeFloat, spec.TypeDouble:
		n, ok := v.(json.Number)
		if !ok {
			return "", fmt.Errorf("float: %v", v)
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return "", err
		}
		if t.Kind == spec.TypeFloat {
			return canonFloat(f, 32), nil
		}
		return canonFloat(f, 64), nil
	case spec.TypeString, spec.TypeVarchar, spec.TypeChar:
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("string: %v", v)
		}
		if t.Kind == spec.TypeChar {
			// Readers strip char(n)'s padding (Hive compares chars without
			// it); the file stores it padded.
			s = strings.TrimRight(s, " ")
		}
		return strconv.Quote(s), nil
	case spec.TypeBinary:
		arr, ok := v.([]any)
		if !ok {
			return "", fmt.Errorf("binary: %v", v)
		}
		b := make([]byte, len(arr))
		for i, e := range arr {
			n, err := strconv.Atoi(fmt.Sprint(e))
			if err != nil {
				return "", err
			}
			b[i] = byte(n)
		}
		return hex.EncodeToString(b), nil
	case spec.TypeTimestamp:
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("timestamp: %v", v)
		}
		secs, nanos, _, ok := parseTimestamp([]byte(s))
		if !ok {
			return "", fmt.Errorf("timestamp %q", s)
		}
		return canonTimestamp(secs, int64(nanos)), nil
	case spec.TypeDate:
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("date: %v", v)
		}
		days, ok := parseDate([]byte(s))
		if !ok {
			return "", fmt.Errorf("date %q", s)
		}
		return strconv.FormatInt(days, 10), nil
	case spec.TypeDecimal:
		d, ok := parseDecimal([]byte(fmt.Sprint(v)), t.Precision, t.Scale)
		if !ok {
			return "", fmt.Errorf("decimal %v", v)
		}
		return decimalString(d, t.Scale), nil
	case spec.TypeStruct:
		m, ok := v.(map[string]any)
		if !ok {
			return "", fmt.Errorf("struct: %v", v)
		}
		parts := make([]string, len(t.Children))
		for i, ct := range t.Children {
			var err error
			if parts[i], err = canonJava(ct, m[t.FieldNames[i]]); err != nil {
				return "", err
			}
		}
		return "{" + strings.Join(parts, ",") + "}", nil
	case spec.TypeList:
		arr, ok := v.([]any)
		if !ok {
			return "", fmt.Errorf("list: %v", v)
		}
		parts := make([]string, len(arr))
		for i, e := range arr {
			var err error
			if parts[i], err = canonJava(t.Children[0], e); err != nil {
				return "", err
			}
		}
		return "[" + strings.Join(parts, ",") + "]", nil
	case spec.TypeMap:
		arr, ok := v.([]any)
		if !ok {
			return "", fmt.Errorf("map: %v", v)
		}
		parts := make([]string, len(arr))
		for i, e := range arr {
			kv, ok := e.(map[string]any)
			if !ok {
				return "", fmt.Errorf("map entry: %v", e)
			}
			k, err := canonJava(t.Children[0], kv["_key"])
			if err != nil {
				return "", err
			}
			val, err := canonJava(t.Children[1], kv["_value"])
			if err != nil {
				return "", err
			}
			parts[i] = k + ":" + val
		}
		return "{" + strings.Join(parts, ",") + "}", nil
	}
	return "", fmt.Errorf("unexpected type %v", t.Kind)
}

// canonArrow turns a value printed by the pyarrow helper script (see
// interop_test.go) into canonical form.
func canonArrow(t *Type, v any) (string, error) {
	if v == nil {
		return "null", nil
	}
	switch t.Kind {
	case spec.TypeBoolean, spec.TypeByte, spec.TypeShort, spec.TypeInt, spec.TypeLong,
		spec.TypeFloat, spec.TypeDouble, spec.TypeString, spec.TypeVarchar, spec.TypeChar:
		return canonJava(t, v)
	case spec.TypeBinary:
		return fmt.Sprint(v), nil // the script prints hex
	case spec.TypeTimestamp:
		n, err := strconv.ParseInt(fmt.Sprint(v), 10, 64) // nanoseconds
		if err != nil {
			return "", err
		}
		return canonTimestamp(floorDiv(n, 1e9), floorMod(n, 1e9)), nil
	case spec.TypeDate:
		return canonJava(t, v)
	case spec.TypeDecimal:
		return canonJava(t, v)
	case spec.TypeStruct:
		m, ok := v.(map[string]any)
		if !ok {
			return "", fmt.Errorf("struct: %v", v)
		}
		parts := make([]string, len(t.Children))
		for i, ct := range t.Children {
			var err error
			if parts[i], err = canonArrow(ct, m[t.FieldNames[i]]); err != nil {
				return "", err
			}
		}
		return "{" + strings.Join(parts, ",") + "}", nil
	case spec.TypeList:
		arr, ok := v.([]any)
		if !ok {
			return "", fmt.Errorf("list: %v", v)
		}
		parts := make([]string, len(arr))
		for i, e := range arr {
			var err error
			if parts[i], err = canonArrow(t.Children[0], e); err != nil {
				return "", err
			}
		}
		return "[" + strings.Join(parts, ",") + "]", nil
	case spec.TypeMap:
		arr, ok := v.([]any)
		if !ok {
			return "", fmt.Errorf("map: %v", v)
		}
		parts := make([]string, len(arr))
		for i, e := range arr {
			kv, ok := e.([]any)
			if !ok || len(kv) != 2 {
				return "", fmt.Errorf("map entry: %v", e)
			}
			k, err := canonArrow(t.Children[0], kv[0])
			if err != nil {
				return "", err
			}
			val, err := canonArrow(t.Children[1], kv[1])
			if err != nil {
				return "", err
			}
			parts[i] = k + ":" + val
		}
		return "{" + strings.Join(parts, ",") + "}", nil
	}
	return "", fmt.Errorf("unexpected type %v", t.Kind)
}
