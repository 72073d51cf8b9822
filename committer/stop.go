package committer

import "time"

// StopBound is the longest a graceful stop (SIGTERM or SIGINT to
// landfall run) takes with cfg, from the signal to the process's exit.
// The final checkpoint, the finalizer's drain and the ready commits share
// checkpointTimeout; a filesystem call already in flight when it runs out
// still has up to one warehouse.timeout before it gives up; releasing
// ownership in etcd and closing the metastore take a few seconds more.
//
// A supervisor must wait at least this long before it kills: Kubernetes'
// terminationGracePeriodSeconds and systemd's TimeoutStopSec. Killing
// earlier loses nothing (recovery replays the last durable checkpoint),
// but the successor then redoes the work of the cut checkpoint and waits
// out the lease (etcd.lease_ttl) instead of taking over at once.
func StopBound(cfg Config) time.Duration {
	return checkpointTimeout + cfg.Warehouse.Timeout + 10*time.Second
}
