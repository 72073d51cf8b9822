// Package security builds the TLS configurations and SASL mechanisms of
// landfall's clients (Kafka, etcd, the webhook) and of its metrics server
// from files named in the configuration. It checks those files at start —
// readable, a key that matches its certificate, nothing expired — so that
// a bad credential fails in seconds naming its key, and it keeps what it
// reads (passwords, tokens, private keys) out of every log line, metric
// and error message: a Secret prints as [redacted] however it is printed.
package security
