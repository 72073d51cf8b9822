package committer

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Pattern maps an event time to a Hive partition path such as
// log_date=20261121/log_hour=13, in a time zone.
type Pattern struct {
	loc      *time.Location
	segments []segment // per path element
	keys     []string
	hourly   bool
}

type segment struct {
	key    string
	tokens []string // literal text or a date token (yyyy, MM, dd, HH)
}

var dateTokens = []string{"yyyy", "MM", "dd", "HH"}

// ParsePattern parses key={date tokens}/… where the tokens are yyyy, MM, dd
// and HH. A pattern without HH makes daily partitions.
func ParsePattern(p string, loc *time.Location) (*Pattern, error) {
	if p == "" {
		return nil, fmt.Errorf("empty pattern: e.g. log_date={yyyyMMdd}/log_hour={HH}")
	}
	pat := &Pattern{loc: loc}
	seen := map[string]bool{}
	for _, elem := range strings.Split(p, "/") {
		key, val, ok := strings.Cut(elem, "=")
		if !ok || key == "" || val == "" {
			return nil, fmt.Errorf("%q: each path element must be key=value, e.g. log_hour={HH}", elem)
		}
		if strings.ContainsAny(key, "{}.") || strings.HasPrefix(key, "_") {
			return nil, fmt.Errorf("%q: bad partition key %q", elem, key)
		}
		seg := segment{key: key}
		for val != "" {
			open := strings.IndexByte(val, '{')
			if open < 0 {
				seg.tokens = append(seg.tokens, "'"+val)
				break
			}
			if open > 0 {
				seg.tokens = append(seg.tokens, "'"+val[:open])
			}
			end := strings.IndexByte(val[open:], '}')
			if end < 0 {
				return nil, fmt.Errorf("%q: unclosed {", elem)
			}
			inner := val[open+1 : open+end]
			if inner == "" {
				return nil, fmt.Errorf("%q: empty {}", elem)
			}
			for inner != "" {
				found := false
				for _, t := range dateTokens {
					if strings.HasPrefix(inner, t) {
						seg.tokens = append(seg.tokens, t)
						seen[t] = true
						inner = inner[len(t):]
						found = true
						break
					}
				}
				if !found && !isLetter(inner[0]) {
					seg.tokens = append(seg.tokens, "'"+inner[:1]) // separator, as in {yyyy-MM-dd}
					inner = inner[1:]
					found = true
				}
				if !found {
					return nil, fmt.Errorf("%q: unknown date token at %q (use yyyy, MM, dd, HH)", elem, inner)
				}
			}
			val = val[open+end+1:]
		}
		pat.segments = append(pat.segments, seg)
		pat.keys = append(pat.keys, key)
	}
	if !seen["yyyy"] || !seen["MM"] || !seen["dd"] {
		return nil, fmt.Errorf("%q must contain yyyy, MM and dd (and HH for hourly partitions)", p)
	}
	pat.hourly = seen["HH"]
	return pat, nil
}

// Keys are the partition keys in order.
func (p *Pattern) Keys() []string { return p.keys }

// Hourly says whether partitions are hours (else days).
func (p *Pattern) Hourly() bool { return p.hourly }

// Values returns the partition values for t.
func (p *Pattern) Values(t time.Time) []string {
	lt := t.In(p.loc)
	out := make([]string, len(p.segments))
	var b strings.Builder
	for i, s := range p.segments {
		b.Reset()
		for _, tok := range s.tokens {
			switch tok {
			case "yyyy":
				b.WriteString(pad(lt.Year(), 4))
			case "MM":
				b.WriteString(pad(int(lt.Month()), 2))
			case "dd":
				b.WriteString(pad(lt.Day(), 2))
			case "HH":
				b.WriteString(pad(lt.Hour(), 2))
			default:
				b.WriteString(tok[1:])
			}
		}
		out[i] = b.String()
	}
	return out
}

// Path returns the partition path for t.
func (p *Pattern) Path(t time.Time) string {
	vals := p.Values(t)
	var b strings.Builder
	for i, v := range vals {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(p.keys[i])
		b.WriteByte('=')
		b.WriteString(v)
	}
	return b.String()
}

func pad(v, n int) string {
	s := strconv.Itoa(v)
	for len(s) < n {
		s = "0" + s
	}
	return s
}

// step is the resolution of partition boundaries: every time zone offset in
// use today is a multiple of 15 minutes, so local hours and days start on a
// 15-minute UTC boundary, also across DST changes.
const step = 15 * time.Minute

// Bounds returns the partition path holding t and its [start, end) in
// instants. Around a DST change a local hour may last two real hours (or not
// exist at all); the bounds say so exactly.
func (p *Pattern) Bounds(t time.Time) (path string, start, end time.Time) {
	path = p.Path(t)
	b := t.Truncate(step)
	start = b
	for i := 0; i < 200; i++ {
		prev := start.Add(-step)
		if p.Path(prev) != path {
			break
		}
		start = prev
	}
	end = b.Add(step)
	for i := 0; i < 200 && p.Path(end) == path; i++ {
		end = end.Add(step)
	}
	return path, start, end
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// Time is the inverse of Path: the start of the local hour (or day) that
// the partition path names, or false if path is not one of the pattern's.
func (p *Pattern) Time(path string) (time.Time, bool) {
	elems := strings.Split(path, "/")
	if len(elems) != len(p.segments) {
		return time.Time{}, false
	}
	v := map[string]int{"yyyy": 0, "MM": 1, "dd": 1, "HH": 0}
	for i, s := range p.segments {
		val, ok := strings.CutPrefix(elems[i], s.key+"=")
		if !ok {
			return time.Time{}, false
		}
		for _, tok := range s.tokens {
			if tok[0] == '\'' {
				if val, ok = strings.CutPrefix(val, tok[1:]); !ok {
					return time.Time{}, false
				}
				continue
			}
			n := 2
			if tok == "yyyy" {
				n = 4
			}
			if len(val) < n {
				return time.Time{}, false
			}
			x, err := strconv.Atoi(val[:n])
			if err != nil || x < 0 {
				return time.Time{}, false
			}
			v[tok], val = x, val[n:]
		}
		if val != "" {
			return time.Time{}, false
		}
	}
	t := time.Date(v["yyyy"], time.Month(v["MM"]), v["dd"], v["HH"], 0, 0, 0, p.loc)
	// A date that does not exist (month 13, hour 25) normalizes to another
	// one and is refused here.
	if p.Path(t) != path {
		return time.Time{}, false
	}
	return t, true
}
