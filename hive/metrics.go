package hive

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// register registers c with reg and returns it, or returns the collector
// already registered under the same name: two clients or step lists in one
// process then share their series instead of failing (promauto would panic).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		// A different collector owns the name: keep ours unexported rather
		// than stop the process over a metric.
	}
	return c
}
