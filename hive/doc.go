// Package hive tells the outside world that a partition is complete: the Hive
// metastore (schema, location and format of the table; idempotent partition
// registration with statistics), the _SUCCESS marker and notifications, run
// as an ordered list of idempotent commit steps that the committer retries
// from its durable commit queue.
package hive
