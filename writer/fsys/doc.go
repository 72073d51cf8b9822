// Package fsys is the warehouse filesystem: the few operations landfall needs
// (create, sync, close, atomic no-overwrite rename, list, remove, recover a
// file left open by a dead writer), with a local backend and an HDFS one that
// pass the same acceptance suite (Conformance). WithDeadline bounds every
// call, so that a backend that stops answering fails a call instead of
// hanging its caller.
package fsys
