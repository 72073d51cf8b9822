// Package loggen makes realistic JSON log records for the quickstart,
// benchmarks and tests: a few hundred bytes each, an event-time field, a
// little out of order, some late, a few malformed — deterministic for a seed.
package loggen

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// Schema is the Hive schema of the records, for the orc format.
const Schema = "struct<ts:bigint,id:string,level:string,service:string,host:string,method:string,path:string,status:int,latency_ms:bigint,bytes:bigint,mid:bigint,trace_id:string,ua:string,tags:map<string,string>>"

// Generator produces records. It is not safe for concurrent use.
type Generator struct {
	rng *rand.Rand
	// LateFraction of records carry an event time hours in the past.
	LateFraction float64
	// BadFraction of records are malformed (not JSON, or no event time).
	BadFraction float64
	// Jitter is the largest out-of-order shift of an event time.
	Jitter time.Duration
	seq    uint64
}

// New returns a generator with realistic defaults (0.2% late, 0.1% bad, 30s
// jitter).
func New(seed uint64) *Generator {
	return &Generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), LateFraction: 0.002, BadFraction: 0.001, Jitter: 30 * time.Second}
}

// Kind says what a generated record is.
type Kind int

const (
	Valid Kind = iota
	Late
	Malformed
)

var (
	services = []string{"gateway", "search", "playurl", "account", "comment", "danmaku", "feed", "pay"}
	methods  = []string{"GET", "GET", "GET", "POST", "PUT", "DELETE"}
	paths    = []string{"/x/v2/reply", "/x/web-interface/view", "/x/player/playurl", "/x/space/acc/info", "/x/v2/dm/list", "/pgc/view/web/season", "/x/relation/stat", "/x/web-interface/nav"}
	levels   = []string{"INFO", "INFO", "INFO", "INFO", "WARN", "ERROR", "DEBUG"}
	regions  = []string{"sh", "bj", "gz", "hz", "cd", "sz"}
	agents   = []string{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Mobile/15E148", "okhttp/4.12.0", "Dalvik/2.1.0 (Linux; U; Android 14)"}
	statuses = []int{200, 200, 200, 200, 200, 200, 204, 301, 304, 400, 403, 404, 500, 502}
)

// Next appends the next record for event time et to dst and returns it. The
// id field is unique per generator (seq), so tests can check exactly-once.
func (g *Generator) Next(dst []byte, et time.Time) ([]byte, Kind) {
	g.seq++
	r := g.rng.Float64()
	kind := Valid
	switch {
	case r < g.BadFraction:
		kind = Malformed
	case r < g.BadFraction+g.LateFraction:
		kind = Late
		et = et.Add(-time.Duration(2+g.rng.IntN(4)) * time.Hour)
	default:
		if g.Jitter > 0 {
			et = et.Add(-time.Duration(g.rng.Int64N(int64(g.Jitter))))
		}
	}
	b := dst
	b = append(b, `{"ts":`...)
	if kind == Malformed && g.seq%2 == 0 {
		b = append(b, `"yesterday"`...)
	} else {
		b = strconv.AppendInt(b, et.UnixMilli(), 10)
	}
	b = append(b, `,"id":"`...)
	b = strconv.AppendUint(b, g.seq, 10)
	b = append(b, `","level":"`...)
	b = append(b, levels[g.rng.IntN(len(levels))]...)
	b = append(b, `","service":"`...)
	b = append(b, services[g.rng.IntN(len(services))]...)
	b = append(b, `","host":"node-`...)
	b = strconv.AppendInt(b, int64(g.rng.IntN(400)), 10)
	b = append(b, `.`...)
	b = append(b, regions[g.rng.IntN(len(regions))]...)
	b = append(b, `","method":"`...)
	b = append(b, methods[g.rng.IntN(len(methods))]...)
	b = append(b, `","path":"`...)
	b = append(b, paths[g.rng.IntN(len(paths))]...)
	b = append(b, `","status":`...)
	b = strconv.AppendInt(b, int64(statuses[g.rng.IntN(len(statuses))]), 10)
	b = append(b, `,"latency_ms":`...)
	b = strconv.AppendInt(b, int64(g.rng.ExpFloat64()*40), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, int64(g.rng.IntN(200000)), 10)
	b = append(b, `,"mid":`...)
	b = strconv.AppendInt(b, int64(g.rng.IntN(500000000)), 10)
	b = append(b, `,"trace_id":"`...)
	b = strconv.AppendUint(b, g.rng.Uint64(), 16)
	b = append(b, `","ua":"`...)
	b = append(b, agents[g.rng.IntN(len(agents))]...)
	b = append(b, `","tags":{"region":"`...)
	b = append(b, regions[g.rng.IntN(len(regions))]...)
	b = append(b, `","build":"`...)
	b = strconv.AppendInt(b, int64(8000+g.rng.IntN(50)), 10)
	b = append(b, `"}}`...)
	if kind == Malformed && g.seq%2 == 1 {
		b = b[:len(b)-len(b)/3] // truncated in transit
	}
	return b, kind
}

// Seq is the id of the last record generated.
func (g *Generator) Seq() uint64 { return g.seq }
