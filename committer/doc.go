// Package committer is landfall's engine: it consumes a Kafka topic, routes
// records to part files per Hive partition, checkpoints {offsets, pending
// files, watermarks, commit queue} to etcd under the logid's fencing lease,
// finalizes files after each durable checkpoint, and commits partitions when
// the event-time watermark (or stream-break detection) says they are
// complete. It promises that every record at or after the start offset ends
// up in exactly one committed file, or in the invalid-record sink.
package committer
