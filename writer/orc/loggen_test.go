package orc

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// logSchema is a realistic access/application log table: low-cardinality
// strings (level, service, region, method), high-cardinality ones (request
// and trace ids, messages), integers, a timestamp, a double and a map.
const logSchema = "struct<ts:timestamp,ts_ms:bigint,level:string,service:string,host:string,region:string," +
	"method:string,path:string,status:int,latency_ms:double,bytes_in:bigint,bytes_out:bigint," +
	"user_id:bigint,session_id:string,request_id:string,trace_id:string,user_agent:string," +
	"client_ip:string,message:string,retry:boolean,tags:map<string,string>>"

// logGen makes deterministic JSON log records for logSchema.
type logGen struct {
	rng      *rand.Rand
	ms       int64
	services []string
	hosts    []string
	paths    []string
	agents   []string
	sessions []string
	buf      []byte
}

func newLogGen(seed uint64) *logGen {
	g := &logGen{rng: rand.New(rand.NewPCG(seed, 0x5eed)), ms: time.Date(2026, 11, 21, 5, 0, 0, 0, time.UTC).UnixMilli()}
	for i := 0; i < 12; i++ {
		g.services = append(g.services, []string{"checkout", "search", "auth", "cart", "catalog", "payments", "profile", "reviews", "shipping", "inventory", "gateway", "notifications"}[i])
	}
	for i := 0; i < 200; i++ {
		g.hosts = append(g.hosts, fmt.Sprintf("%s-%03d.prod.internal", g.services[i%12], i))
	}
	for i := 0; i < 60; i++ {
		g.paths = append(g.paths, fmt.Sprintf("/api/v%d/%s/%s", 1+i%3, g.services[i%12], []string{"items", "list", "detail", "update", "status"}[i%5]))
	}
	for i := 0; i < 30; i++ {
		g.agents = append(g.agents, fmt.Sprintf("Mozilla/5.0 (%s) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%d.0.%d.%d Safari/537.36",
			[]string{"Windows NT 10.0; Win64; x64", "Macintosh; Intel Mac OS X 14_1", "X11; Linux x86_64", "iPhone; CPU iPhone OS 17_1 like Mac OS X"}[i%4], 110+i, 5000+i*13, i*7))
	}
	for i := 0; i < 5000; i++ {
		g.sessions = append(g.sessions, fmt.Sprintf("%016x", g.rng.Uint64()))
	}
	return g
}

func (g *logGen) pick(weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	r := g.rng.IntN(total)
	for i, w := range weights {
		if r < w {
			return i
		}
		r -= w
	}
	return len(weights) - 1
}

// next returns the next record; the slice is reused by the following call.
func (g *logGen) next() []byte {
	r := g.rng
	g.ms += int64(r.IntN(5))
	ts := time.UnixMilli(g.ms).UTC()
	level := []string{"INFO", "WARN", "ERROR", "DEBUG"}[g.pick([]int{80, 10, 4, 6})]
	svc := r.IntN(len(g.services))
	status := []int{200, 201, 204, 301, 304, 400, 401, 403, 404, 429, 500, 502, 503}[g.pick([]int{70, 5, 3, 1, 4, 3, 2, 1, 5, 1, 2, 1, 1})]
	latency := math.Round(math.Exp(r.NormFloat64()*0.8+3)*1000) / 1000
	user := int64(math.Floor(math.Pow(r.Float64(), 3) * 100000))
	b := g.buf[:0]
	b = append(b, `{"ts":"`...)
	b = ts.AppendFormat(b, "2006-01-02 15:04:05.000")
	b = append(b, `","ts_ms":`...)
	b = strconv.AppendInt(b, g.ms, 10)
	b = append(b, `,"level":"`...)
	b = append(b, level...)
	b = append(b, `","service":"`...)
	b = append(b, g.services[svc]...)
	b = append(b, `","host":"`...)
	b = append(b, g.hosts[svc+12*r.IntN(16)]...)
	b = append(b, `","region":"`...)
	b = append(b, []string{"us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1"}[g.pick([]int{40, 20, 20, 10, 10})]...)
	b = append(b, `","method":"`...)
	b = append(b, []string{"GET", "POST", "PUT", "DELETE", "PATCH"}[g.pick([]int{70, 20, 5, 3, 2})]...)
	b = append(b, `","path":"`...)
	b = append(b, g.paths[r.IntN(len(g.paths))]...)
	b = append(b, `","status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"latency_ms":`...)
	b = strconv.AppendFloat(b, latency, 'f', -1, 64)
	b = append(b, `,"bytes_in":`...)
	b = strconv.AppendInt(b, int64(r.IntN(4096)), 10)
	b = append(b, `,"bytes_out":`...)
	b = strconv.AppendInt(b, int64(r.IntN(1<<20)), 10)
	b = append(b, `,"user_id":`...)
	b = strconv.AppendInt(b, user, 10)
	b = append(b, `,"session_id":"`...)
	b = append(b, g.sessions[r.IntN(len(g.sessions))]...)
	b = append(b, `","request_id":"`...)
	u1, u2 := r.Uint64(), r.Uint64()
	b = fmt.Appendf(b, "%08x-%04x-4%03x-%04x-%012x", u1>>32, u1>>16&0xffff, u1&0xfff, u2>>48&0x3fff|0x8000, u2&0xffffffffffff)
	b = append(b, `","trace_id":"`...)
	b = fmt.Appendf(b, "%016x%016x", r.Uint64(), r.Uint64())
	b = append(b, `","user_agent":"`...)
	b = append(b, g.agents[r.IntN(len(g.agents))]...)
	b = append(b, `","client_ip":"`...)
	b = fmt.Appendf(b, "10.%d.%d.%d", r.IntN(4), r.IntN(256), r.IntN(256))
	b = append(b, `","message":"`...)
	switch level {
	case "ERROR":
		b = fmt.Appendf(b, "upstream %s failed after %d retries: connection reset by peer", g.services[r.IntN(12)], r.IntN(4))
	case "WARN":
		b = fmt.Appendf(b, "slow request: %dms over budget for user %d", int(latency), user)
	default:
		b = fmt.Appendf(b, "handled %s request for user %d in %.1fms", g.services[svc], user, latency)
	}
	b = append(b, `","retry":`...)
	b = strconv.AppendBool(b, r.IntN(50) == 0)
	b = append(b, `,"tags":{`...)
	for i, n := 0, r.IntN(4); i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `"%s":"%s"`, []string{"env", "version", "canary", "az"}[i], []string{"prod", "v1.42.0", "false", "az-b"}[(i+r.IntN(2))%4])
	}
	b = append(b, "}}"...)
	g.buf = b
	return b
}
