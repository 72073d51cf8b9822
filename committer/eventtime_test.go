package committer

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/landfall/landfall/committer/jsonscan"
)

func TestEventMillis(t *testing.T) {
	for _, c := range []struct {
		rec, format string
		ms          int64
		reason      string
	}{
		{`{"ts":1763683200123}`, "epoch_ms", 1763683200123, ""},
		{`{"ts":1763683200.5}`, "epoch_s", 1763683200500, ""},
		{`{"ts":1763683200}`, "epoch_s", 1763683200000, ""},
		{`{"ts":"1763683200123"}`, "epoch_ms", 1763683200123, ""},
		{`{"ts":"17636832\u00300123"}`, "epoch_ms", 1763683200123, ""},
		{`{"ts":1.7636832001e12}`, "epoch_ms", 1763683200100, ""},
		{`{"ts":0}`, "epoch_ms", 0, ""},
		{`{"ts":-1}`, "epoch_ms", 0, "event time out of range"},
		{`{"ts":253402300800000}`, "epoch_ms", 0, "event time out of range"},
		{`{"ts":999999999999999999}`, "epoch_ms", 0, "event time out of range"},
		{`{"ts":9999999999999999999999}`, "epoch_s", 0, "event time out of range"},
		{`{"ts":"soon"}`, "epoch_ms", 0, "event time is not a number"},
		{`{"ts":true}`, "epoch_ms", 0, "event time is not a number"},
		{`{"ts":{"ms":1}}`, "epoch_ms", 0, "event time is not a number"},
		{`{"t":1}`, "epoch_ms", 0, "no event time field"},
		{`[1]`, "epoch_ms", 0, "no event time field"},
		{`{"x":{"ts":1},"ts":2}`, "epoch_ms", 2, ""},
		{`{"ts":"2026-11-21T13:04:05.123+01:00"}`, "rfc3339", 1795262645123, ""},
		{`{"ts":"2026-11-21T12:04:05Z"}`, "rfc3339", 1795262645000, ""},
		{`{"ts":"2026-11-21 12:04:05"}`, "rfc3339", 0, "event time is not RFC 3339"},
		{`{"ts":1763683200123}`, "rfc3339", 0, "event time is not an RFC 3339 string"},
	} {
		val, kind, escaped, err := jsonscan.Scan([]byte(c.rec), "ts")
		if err != nil {
			t.Fatalf("%s: %v", c.rec, err)
		}
		ms, reason := eventMillis(val, kind, escaped, c.format)
		if ms != c.ms || reason != c.reason {
			t.Errorf("%s as %s: %d %q, want %d %q", c.rec, c.format, ms, reason, c.ms, c.reason)
		}
	}
}

// TestEventKeyScanner: the event-time field is found the way the format
// maps keys to columns, whatever the case the configuration spells it in.
func TestEventKeyScanner(t *testing.T) {
	const rec = `{"ts":1,"Ts":2,"x":{"ts":3,"TS":3},"TS":4,"ts":5,"t\u0053":6}`
	for _, c := range []struct {
		format, field, want string
	}{
		{"text", "ts", "5"},
		{"lzo", "ts", "5"},
		{"text", "TS", "4"},
		{"orc", "ts", "6"},
		{"orc", "TS", "6"}, // the column is ts either way
	} {
		var cfg Config
		cfg.Format.Name, cfg.EventTime.Field = c.format, c.field
		val, kind, _, err := eventKeyScanner(cfg)([]byte(rec))
		if err != nil || kind != jsonscan.Number || string(val) != c.want {
			t.Errorf("%s, field %q: %q %v %v, want %s", c.format, c.field, val, kind, err, c.want)
		}
	}
}

// TestSmallUint checks the word-at-a-time digits against strconv around
// every length and with a non-digit in every place.
func TestSmallUint(t *testing.T) {
	for l := 1; l <= 19; l++ {
		for _, d := range []byte("0123456789") {
			s := []byte(strings.Repeat(string(d), l))
			s[0] = "123456789"[l%9]
			want, err := strconv.ParseInt(string(s), 10, 64)
			if n, ok := smallUint(s); ok != (l <= 18 && err == nil) || ok && n != want {
				t.Errorf("smallUint(%s) = %d %v, want %d", s, n, ok, want)
			}
			for i := range s {
				for _, bad := range []byte{'/', ':', ' ', 0xfa, 0xff, 0x06, '0' + 0x80} {
					b := bytes.Clone(s)
					b[i] = bad
					if n, ok := smallUint(b); ok {
						t.Errorf("smallUint(%q) = %d, true", b, n)
					}
				}
			}
		}
	}
	for _, s := range []string{"1763683200123", "0000000000000", "9999999999999999", "1000000000000000", "12345678", "123456789"} {
		want, _ := strconv.ParseInt(s, 10, 64)
		if n, ok := smallUint([]byte(s)); !ok || n != want {
			t.Errorf("smallUint(%s) = %d %v", s, n, ok)
		}
	}
}
