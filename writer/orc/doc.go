// Package orc writes Apache ORC v1 files from JSON records: the "orc"
// pipeline format. It encodes like Apache ORC's Java writer (RLE v2 with all
// four sub-encodings, dictionary or direct strings chosen per stripe, row
// indexes every 10,000 rows, statistics at file, stripe and row group level,
// ZSTD/ZLIB/SNAPPY/LZ4 chunks) and keeps the memory of all open files of a
// process under one budget. A record that does not fit the schema is
// rejected whole, with a reason naming the column.
//
// A record is validated and converted in one pass over its JSON (Scanner)
// into a scratch row, which its file appends to typed column buffers of
// this package; records that pass does not take (invalid ones, among
// others) are parsed by fastjson and converted value by value, which
// names the reason.
//
// Typed buffers rather than Apache Arrow builders: measured on the log
// benchmark (BenchmarkBuffersArrowVsTyped, one core), typed buffers take
// 1.69 µs and allocate 329 B per record (amortized), Arrow builders 1.93 µs
// and 1372 B — and the Arrow path still lacks what the typed one already
// does: Hive's case-insensitive field matching, type checks with rollback,
// and the stripe dictionary (low-cardinality strings are stored once, not
// per row), which would be a second pass over Arrow's buffers. (Those
// figures are of the fastjson converter, before the one pass.)
package orc
