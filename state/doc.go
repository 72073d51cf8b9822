// Package state keeps a logid's checkpoint in etcd: one owner at a time
// through a lease-backed lock, and every write a transaction conditioned on
// that ownership, so a zombie process can never move offsets or commit files.
package state
