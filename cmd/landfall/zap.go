package main

import "go.uber.org/zap"

// nopZap silences the etcd client's own logger; landfall logs what matters.
func nopZap() *zap.Logger { return zap.NewNop() }
