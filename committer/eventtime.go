package committer

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/landfall/landfall/committer/jsonscan"
)

// maxEventMillis is the end of year 9999.
const maxEventMillis = 253402300799999

// eventKeyScanner returns how a record's event-time field is found: as the
// member whose value the table will hold for it, so that the partition a
// record lands in and its own event-time column never disagree. With the
// key twice that is the last (jsonscan.Scan). An ORC table maps JSON keys
// to its lower-case column names ASCII case-insensitively ("TS" fills the
// ts column), so for ORC any spelling counts (jsonscan.ScanFold); text and
// lzo store the record as it is, where a reader looks for the key exactly.
func eventKeyScanner(cfg Config) func(rec []byte) (val []byte, kind jsonscan.Kind, escaped bool, err error) {
	// The key is prepared once (jsonscan.Key), not on every record.
	key := jsonscan.NewKey(cfg.EventTime.Field, false)
	if cfg.Format.Name == "orc" {
		key = jsonscan.NewKey(strings.ToLower(cfg.EventTime.Field), true) // as writer/orc names the column
	}
	return key.Scan
}

// eventMillis reads the event time (Unix ms) from the raw JSON value of the
// event-time field, as jsonscan.Scan returns it. reason is non-empty when
// the record has no usable event time.
func eventMillis(val []byte, kind jsonscan.Kind, escaped bool, format string) (ms int64, reason string) {
	if kind == jsonscan.Missing {
		return 0, "no event time field"
	}
	if kind == jsonscan.String && escaped {
		u, err := jsonscan.Unquote(val)
		if err != nil {
			return 0, "event time is not a valid JSON string"
		}
		val = u
	}
	switch format {
	case "epoch_ms", "epoch_s":
		if kind != jsonscan.Number && kind != jsonscan.String {
			return 0, "event time is not a number"
		}
		scale := int64(1)
		if format == "epoch_s" {
			scale = 1000
		}
		// The common case, a plain integer, without a float round trip.
		if n, ok := smallUint(val); ok {
			if n > maxEventMillis/scale {
				return 0, "event time out of range"
			}
			return n * scale, ""
		}
		f, err := strconv.ParseFloat(string(val), 64)
		if err != nil {
			return 0, "event time is not a number"
		}
		f *= float64(scale)
		if math.IsNaN(f) || f < 0 || f > maxEventMillis {
			return 0, "event time out of range"
		}
		return int64(f), ""
	default: // rfc3339
		if kind != jsonscan.String {
			return 0, "event time is not an RFC 3339 string"
		}
		t, err := time.Parse(time.RFC3339Nano, string(val))
		if err != nil {
			return 0, "event time is not RFC 3339"
		}
		if t.Year() < 1970 || t.Year() > 9999 {
			return 0, "event time out of range"
		}
		return t.UnixMilli(), ""
	}
}

// smallUint parses 1 to 18 decimal digits. Event times in epoch ms have
// 13, which a byte at a time is a chain of 13 dependent multiply-adds; 8
// to 16 digits take two words of eight instead (eightDigits).
func smallUint(b []byte) (int64, bool) {
	if l := len(b); l >= 8 && l <= 16 {
		// The first l-8 digits, after 16-l '0's shifted in at the
		// front (the low bytes), and the last 8: between them every
		// byte is looked at.
		k := uint(16-l) * 8
		hi, ok1 := eightDigits(binary.LittleEndian.Uint64(b)<<k | swarZeros>>(64-k))
		lo, ok2 := eightDigits(binary.LittleEndian.Uint64(b[l-8:]))
		return int64(hi)*1e8 + int64(lo), ok1 && ok2
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

const swarZeros = 0x3030303030303030 // "00000000"

// eightDigits parses the 8 ASCII digits of w, a little-endian word (its
// first byte the most significant digit).
func eightDigits(w uint64) (uint64, bool) {
	// A byte is a digit when its high nibble is 3 and adding 6 leaves
	// it so (a carry out of a byte >= 0xfa only spoils bytes after a
	// byte that already fails).
	if (w&0xf0f0f0f0f0f0f0f0^swarZeros)|((w+0x0606060606060606)&0xf0f0f0f0f0f0f0f0^swarZeros) != 0 {
		return 0, false
	}
	w -= swarZeros
	w = (w*10 + w>>8) & 0x00ff00ff00ff00ff
	w = (w*100 + w>>16) & 0x0000ffff0000ffff
	w = (w*10000 + w>>32) & 0xffffffff
	return w, true
}
