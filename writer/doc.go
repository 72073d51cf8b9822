// Package writer turns Kafka records into part files: one open file per Hive
// partition, encoded by a Format (text, text+lzo, ORC+zstd), written under a
// hidden name and handed back to the committer when it rolls them at a
// checkpoint. It never decides what is committed; the committer does.
package writer
