// Package e2e holds the real-cluster tests: Apache Kafka, Hadoop HDFS, a Hive
// metastore and etcd started on loopback by e2e/services/*.sh, and the
// landfall binary run against them with faults. The tests carry the e2e build
// tag; `make e2e` (e2e/run.sh) starts the services, runs them and tears
// everything down.
package e2e
