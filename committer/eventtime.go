package committer

import (
	"math"
	"strconv"
	"time"

	"github.com/valyala/fastjson"
)

// eventMillis reads the event time (Unix ms) from a JSON value. reason is
// non-empty when the record has no usable event time.
func eventMillis(v *fastjson.Value, format string) (ms int64, reason string) {
	if v == nil {
		return 0, "no event time field"
	}
	switch format {
	case "epoch_ms", "epoch_s":
		var f float64
		switch v.Type() {
		case fastjson.TypeNumber:
			f = v.GetFloat64()
		case fastjson.TypeString:
			n, err := strconv.ParseFloat(string(v.GetStringBytes()), 64)
			if err != nil {
				return 0, "event time is not a number"
			}
			f = n
		default:
			return 0, "event time is not a number"
		}
		if format == "epoch_s" {
			f *= 1000
		}
		if math.IsNaN(f) || f < 0 || f > 253402300799999 { // year 9999
			return 0, "event time out of range"
		}
		return int64(f), ""
	default: // rfc3339
		if v.Type() != fastjson.TypeString {
			return 0, "event time is not an RFC 3339 string"
		}
		t, err := time.Parse(time.RFC3339Nano, string(v.GetStringBytes()))
		if err != nil {
			return 0, "event time is not RFC 3339"
		}
		if t.Year() < 1970 || t.Year() > 9999 {
			return 0, "event time out of range"
		}
		return t.UnixMilli(), ""
	}
}
