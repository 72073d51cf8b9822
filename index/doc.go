// Package index is a table's log of file actions: numbered entries of add,
// remove and partition-complete actions, each written hidden and published by
// one rename after its checkpoint is durable, compacted into snapshots of the
// live files, so that downstream readers follow new files from a cursor
// exactly once without listing the warehouse (FORMAT.md is the on-disk spec).
package index
