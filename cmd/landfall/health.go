package main

import (
	"net/http"
	"sync/atomic"

	"github.com/landfall/landfall/committer"
)

// health answers the probes of a scheduler (Kubernetes, a load balancer's
// check, a systemd watchdog script) on the metrics listener.
//
// /healthz says the process is alive and serving: it is 200 as long as
// the HTTP server answers, also while recovery runs or while a standby
// waits for ownership, so that a liveness probe never kills a process
// for doing its job slowly. A hung process is the probe's timeout.
//
// /readyz is 200 only while a pipeline is consuming: it owns the logid,
// recovery has finished and its Kafka partitions are assigned. It is 503
// while the process waits for ownership (a standby replica stays 503 for
// as long as the owner lives), while recovery replays the checkpoint,
// between an in-process restart's attempts and after the last pipeline
// stopped. Readiness is about this process doing the work, not about
// traffic: nothing routes requests to landfall.
type health struct {
	// current is the pipeline of the running attempt, nil between
	// attempts: a stopped pipeline's Progress still says Consuming.
	current atomic.Pointer[committer.Pipeline]
}

// started records p as the running attempt; pass it (or call it from)
// run's started hook.
func (h *health) started(p *committer.Pipeline) { h.current.Store(p) }

// stopped marks that no attempt runs; call it when runOnce returns.
func (h *health) stopped() { h.current.Store(nil) }

func (h *health) register(mux *http.ServeMux) {
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		p := h.current.Load()
		switch {
		case p == nil:
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready: no pipeline owns the logid in this process (waiting for ownership, restarting or stopped)\n"))
		case !p.Progress().Consuming:
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready: recovering the last checkpoint\n"))
		default:
			_, _ = w.Write([]byte("ready: consuming\n"))
		}
	})
}
