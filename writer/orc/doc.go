// Package orc writes Apache ORC v1 files from JSON records: the "orc"
// pipeline format. It encodes like Apache ORC's Java writer (RLE v2 with all
// four sub-encodings, dictionary or direct strings chosen per stripe, row
// indexes every 10,000 rows, statistics at file, stripe and row group level,
// ZSTD/ZLIB/SNAPPY/LZ4 chunks) and keeps the memory of all open files of a
// process under one budget. A record that does not fit the schema is
// rejected whole, with a reason naming the column.
package orc
