// Package reader reads ORC files: the tail (postscript, footer, metadata),
// stripe directories, statistics and indexes, and the rows of every column
// type as column vectors or Go values. It reads what Apache ORC Java and C++
// write (format 0.11, 0.12 and UNSTABLE-PRE-2.0), checks every length and
// offset it is given, and returns errors — never panics — on corrupt input.
package reader
