package committer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/landfall/landfall/hive"
	"github.com/landfall/landfall/internal/security"
)

// Config is landfall's service configuration (landfall.yaml). Every key is
// documented in README.md.
type Config struct {
	LogID      string           `yaml:"logid"`
	Kafka      KafkaConfig      `yaml:"kafka"`
	Etcd       EtcdConfig       `yaml:"etcd"`
	Warehouse  WarehouseConfig  `yaml:"warehouse"`
	Hive       hive.Config      `yaml:"hive"`
	Format     FormatConfig     `yaml:"format"`
	EventTime  EventTimeConfig  `yaml:"event_time"`
	Partition  PartitionConfig  `yaml:"partition"`
	Checkpoint CheckpointConfig `yaml:"checkpoint"`
	Watermark  WatermarkConfig  `yaml:"watermark"`
	Commit     CommitConfig     `yaml:"commit"`
	Late       LateConfig       `yaml:"late"`
	Metrics    MetricsConfig    `yaml:"metrics"`
	Index      IndexConfig      `yaml:"index"`
	Compaction CompactionConfig `yaml:"compaction"`
	// Parallelism is how many goroutines decode and encode records, each
	// for its share of the topic's Kafka partitions with its own open files
	// (default 1). Checkpoints stay one etcd transaction for all of them.
	Parallelism int `yaml:"parallelism"`
	// Kerberos is landfall's principal and keytab, for a Kerberized HDFS
	// (warehouse.namenode_principal) and metastore.
	Kerberos security.Kerberos `yaml:"kerberos"`
}

type CompactionConfig struct {
	// Enabled merges a partition's small files before its commit. Off by
	// default in this release.
	Enabled bool `yaml:"enabled"`
	// TargetSize is the merged files' size (default 256 MiB).
	TargetSize int64 `yaml:"target_size"`
	// MaxDelay is how long a partition's commit waits for its merge; past
	// it the partition commits as it is (logged, counted).
	MaxDelay time.Duration `yaml:"max_delay"`
	// MaxBytesPerSecond caps the bytes a merge reads per second (0: no
	// cap), so merges never starve the consume loop's I/O.
	MaxBytesPerSecond int64 `yaml:"max_bytes_per_second"`
	// Concurrency is how many merged files of a partition are written at
	// once (default 2), all under MaxBytesPerSecond.
	Concurrency int `yaml:"concurrency"`
}

type IndexConfig struct {
	// Retention is how long published file-index entries are kept (once a
	// snapshot covers them): a reader lagging longer gets "cursor
	// expired" and restarts from earliest.
	Retention time.Duration `yaml:"retention"`
	// FileRetention is how long files a merge retired stay readable (under
	// .landfall/<logid>/retired/, counted from when they were written) for
	// index readers that were handed their names (default retention + 24h).
	FileRetention time.Duration `yaml:"file_retention"`
}

type KafkaConfig struct {
	Brokers []string `yaml:"brokers"`
	Topic   string   `yaml:"topic"`
	// StartOffset is where landfall's first start (no checkpoint yet) begins
	// in the partitions that exist then: "earliest" or "latest". "latest" is
	// resolved to concrete offsets once and kept in the checkpoint, so a
	// restart never skips again; partitions created later always start at
	// their beginning.
	StartOffset string `yaml:"start_offset"`
	ClientID    string `yaml:"client_id"`
	// FetchMaxBytes bounds one fetch response (memory, P5).
	FetchMaxBytes int32 `yaml:"fetch_max_bytes"`
	// OutOfRange is what to do when a stored offset no longer exists in
	// Kafka: below the log start (retention deleted records landfall had
	// not read) or past the log end (the topic was deleted and created
	// again, or the broker lost data). "earliest" resumes at the oldest
	// record still there, "latest" at the end, "fail" stops the pipeline.
	// Each case is logged at ERROR with the offsets lost and counted.
	OutOfRange string `yaml:"out_of_range"`
	// PartitionDiscoveryInterval is how often, at most, checkpoints look
	// for partitions added to the topic while landfall runs.
	PartitionDiscoveryInterval time.Duration `yaml:"partition_discovery_interval"`
	// TLS and SASL secure the connections to the brokers (a SASL_SSL
	// listener takes both). The secrets are files (or environment
	// variables), never values in this file; see security.TLS and
	// security.SASL.
	TLS  security.TLS  `yaml:"tls"`
	SASL security.SASL `yaml:"sasl"`
}

type EtcdConfig struct {
	// Endpoints of the etcd cluster, or the single value "embedded" to run an
	// etcd server inside landfall with its data in EmbeddedDir.
	Endpoints   []string      `yaml:"endpoints"`
	EmbeddedDir string        `yaml:"embedded_dir"`
	Prefix      string        `yaml:"prefix"`
	LeaseTTL    time.Duration `yaml:"lease_ttl"`
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// ConnectTimeout is how long a start waits for etcd's first answer,
	// retrying with a warning each time, before it fails naming the
	// endpoints (default 2m). It bounds only the front door: a standby
	// waiting for another owner waits as long as that one lives, and an
	// outage after etcd first answered is waited out.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// TLS for https:// endpoints: the CA of etcd's server certificates
	// and the client certificate etcd's --client-cert-auth asks for.
	TLS security.TLS `yaml:"tls"`
	// Username and PasswordFile (or PasswordEnv, an environment variable)
	// authenticate to an etcd with auth enabled; the user needs the role
	// docs/OPERATING.md describes (readwrite on <prefix>/<logid>/).
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
	PasswordEnv  string `yaml:"password_env"`
}

type WarehouseConfig struct {
	// URI of the table's directory: file:///… or hdfs://host:port/….
	URI string `yaml:"uri"`
	// Timeout bounds every filesystem call (create, write, sync, close,
	// rename, list, …): one that outlasts it fails, and so does the
	// checkpoint or file it was for, which recovery then repairs. Without
	// it a DataNode that stops answering hangs a close forever, and a stop
	// or a restart with it. Keep it above the slowest healthy call: an HDFS
	// close waits for the NameNode to see the last block replicated.
	Timeout time.Duration `yaml:"timeout"`
	// NamenodePrincipal is the NameNode's Kerberos principal, the cluster's
	// dfs.namenode.kerberos.principal (default nn/_HOST@<kerberos realm>);
	// _HOST stands for each NameNode's host name as the URI spells it.
	// Used only with kerberos set.
	NamenodePrincipal string `yaml:"namenode_principal"`
	// DataTransferProtection is the cluster's dfs.data.transfer.protection:
	// authentication, integrity or privacy (SASL to the DataNodes), or
	// empty when the DataNodes use privileged ports instead.
	DataTransferProtection string `yaml:"data_transfer_protection"`
}

// The values of format.lzo_input_format.
const (
	LzoHadoopLzo = "hadoop-lzo"
	LzoText      = "text"
)

type FormatConfig struct {
	// Name is text, lzo or orc.
	Name string `yaml:"name"`
	// Compression: none or zstd for text (default none); zstd, zlib or none
	// for orc (default zstd); lzo is always lzo.
	Compression string `yaml:"compression"`
	// Level of zstd (1 fastest … 4 best; default 0 = the codec's default).
	Level int `yaml:"level"`
	// Schema of the orc format, as a Hive type string struct<…>.
	Schema string `yaml:"schema"`
	// BlockSize is the lzo block size or the orc compression block size
	// (0 = the format's default: 64 KiB for lzo, what Hadoop's lzo codecs
	// read with their default buffer; 256 KiB for orc).
	BlockSize int `yaml:"block_size"`
	// LzoInputFormat is what the lzo table is read with: "hadoop-lzo"
	// (default; DeprecatedLzoTextInputFormat, which splits files at their
	// .lzo.index) or "text" (plain TextInputFormat with an LzopCodec, what
	// Spark and Trino can read out of the box: no .lzo.index is written,
	// since that reader would read it as rows).
	LzoInputFormat string `yaml:"lzo_input_format"`
	// StripeSize of orc files (0 = 64 MiB).
	StripeSize int `yaml:"stripe_size"`
	// MemoryBudget bounds the bytes all open part files of the process
	// buffer together, in every format: orc flushes the largest stripes
	// early, text and lzo write smaller pieces (zstd frames, lzo blocks)
	// when it is reached. 0 = the format's default: 512 MiB for orc,
	// 256 MiB for text and lzo; text+zstd needs at least 8 MiB.
	MemoryBudget int64 `yaml:"memory_budget"`
	// BloomFilterColumns of orc files.
	BloomFilterColumns []string `yaml:"bloom_filter_columns"`
}

type EventTimeConfig struct {
	Field string `yaml:"field"`
	// Format is epoch_ms, epoch_s or rfc3339.
	Format   string `yaml:"format"`
	Timezone string `yaml:"timezone"`
	// MaxFuture rejects (to the invalid sink) records whose event time is
	// further ahead of the wall clock than this; one bad clock must not push
	// the watermark years ahead.
	MaxFuture time.Duration `yaml:"max_future"`
}

type PartitionConfig struct {
	// Pattern maps event time to the partition path, e.g.
	// log_date={yyyyMMdd}/log_hour={HH}.
	Pattern string `yaml:"pattern"`
}

type CheckpointConfig struct {
	Interval time.Duration `yaml:"interval"`
}

type WatermarkConfig struct {
	OutOfOrderness time.Duration `yaml:"out_of_orderness"`
	// IdleCheckpoints without any record make a stream break: the
	// processing-time clock then drives the watermark.
	IdleCheckpoints int `yaml:"idle_checkpoints"`
}

type CommitConfig struct {
	Delay time.Duration `yaml:"delay"`
	// Steps run in order for every partition commit: success-file,
	// metastore, webhook, kafka (default [metastore, success-file] with a
	// metastore configured, else [success-file]).
	Steps []string `yaml:"steps"`
	// RetryMax caps the backoff between attempts of a failing step.
	RetryMax time.Duration `yaml:"retry_max"`
	// Horizon is how far behind the watermark empty partitions are still
	// committed (default 720h: 30 days of hours fit in one checkpoint's
	// commits). Older hours with data are committed; older hours without
	// data are skipped (logged, counted), and records older than the
	// commit cursor are late.
	Horizon time.Duration `yaml:"horizon"`
}

type LateConfig struct {
	// Policy for records of an already committed partition: "append" adds
	// them to it and re-commits it; "sink" writes them under _late/.
	Policy string `yaml:"policy"`
	// Retention is how long committed partitions' statistics are kept for
	// append updates.
	Retention time.Duration `yaml:"retention"`
}

type MetricsConfig struct {
	// Listen is the address of the Prometheus /metrics endpoint; empty
	// disables it.
	Listen string `yaml:"listen"`
	// TLS serves the endpoint over https with this certificate and key.
	TLS security.ServerTLS `yaml:"tls"`
	// BearerTokenFile (or BearerTokenEnv, an environment variable) holds
	// a token that /metrics requires as "Authorization: Bearer <token>".
	// The probes /healthz and /readyz stay open: they say only ok or not,
	// and a kubelet's probe has no token.
	BearerTokenFile string `yaml:"bearer_token_file"`
	BearerTokenEnv  string `yaml:"bearer_token_env"`
}

// Defaults fills unset keys with safe values.
func (c *Config) Defaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.Kafka.StartOffset, "earliest")
	def(&c.Kafka.ClientID, "landfall")
	if c.Kafka.FetchMaxBytes == 0 {
		c.Kafka.FetchMaxBytes = 32 << 20
	}
	def(&c.Kafka.OutOfRange, "earliest")
	if c.Kafka.PartitionDiscoveryInterval == 0 {
		c.Kafka.PartitionDiscoveryInterval = 30 * time.Second
	}
	def(&c.Etcd.Prefix, "/landfall")
	if c.Etcd.LeaseTTL == 0 {
		c.Etcd.LeaseTTL = 10 * time.Second
	}
	if c.Etcd.DialTimeout == 0 {
		c.Etcd.DialTimeout = 5 * time.Second
	}
	if c.Etcd.ConnectTimeout == 0 {
		c.Etcd.ConnectTimeout = 2 * time.Minute
	}
	if c.Warehouse.Timeout == 0 {
		c.Warehouse.Timeout = time.Minute
	}
	def(&c.Hive.Database, "default")
	def(&c.Hive.Table, c.LogID)
	def(&c.Format.Name, "text")
	switch c.Format.Name {
	case "orc":
		def(&c.Format.Compression, "zstd")
	case "lzo":
		def(&c.Format.Compression, "lzo")
		def(&c.Format.LzoInputFormat, LzoHadoopLzo)
	default:
		def(&c.Format.Compression, "none")
	}
	def(&c.EventTime.Format, "epoch_ms")
	def(&c.EventTime.Timezone, "UTC")
	if c.EventTime.MaxFuture == 0 {
		c.EventTime.MaxFuture = time.Hour
	}
	def(&c.Partition.Pattern, "log_date={yyyyMMdd}/log_hour={HH}")
	if c.Checkpoint.Interval == 0 {
		c.Checkpoint.Interval = 10 * time.Second
	}
	if c.Parallelism == 0 {
		c.Parallelism = 1
	}
	if c.Watermark.IdleCheckpoints == 0 {
		c.Watermark.IdleCheckpoints = 2
	}
	if len(c.Commit.Steps) == 0 {
		c.Commit.Steps = []string{hive.StepSuccessFile}
		if len(c.Hive.Metastore.URIs) > 0 {
			c.Commit.Steps = []string{hive.StepMetastore, hive.StepSuccessFile}
		}
	}
	if c.Commit.RetryMax == 0 {
		c.Commit.RetryMax = time.Minute
	}
	if c.Commit.Horizon == 0 {
		c.Commit.Horizon = 720 * time.Hour
	}
	def(&c.Late.Policy, "append")
	if c.Index.Retention == 0 {
		c.Index.Retention = 7 * 24 * time.Hour
	}
	if c.Index.FileRetention == 0 {
		c.Index.FileRetention = c.Index.Retention + 24*time.Hour
	}
	if c.Compaction.TargetSize == 0 {
		c.Compaction.TargetSize = 256 << 20
	}
	if c.Compaction.Concurrency == 0 {
		c.Compaction.Concurrency = 2
	}
	if c.Compaction.MaxDelay == 0 {
		c.Compaction.MaxDelay = 10 * time.Minute
	}
	if c.Late.Retention == 0 {
		c.Late.Retention = 7 * 24 * time.Hour
	}
}

var logidRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$`)

// Validate checks the configuration after Defaults. Each error names the key
// and how to fix it.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, a...)))
	}
	if c.LogID == "" {
		bad("logid", "missing: name the log stream, e.g. logid: nginx_access")
	} else if !logidRE.MatchString(c.LogID) {
		bad("logid", "%q: use letters, digits, '_', '.', '-' (it names etcd keys and files)", c.LogID)
	}
	if len(c.Kafka.Brokers) == 0 {
		bad("kafka.brokers", "missing: list at least one broker, e.g. [kafka1:9092]")
	}
	if c.Kafka.Topic == "" {
		bad("kafka.topic", "missing: the topic to consume")
	}
	if c.Kafka.StartOffset != "earliest" && c.Kafka.StartOffset != "latest" {
		bad("kafka.start_offset", "%q: want earliest or latest", c.Kafka.StartOffset)
	}
	if c.Kafka.FetchMaxBytes < 1<<10 {
		bad("kafka.fetch_max_bytes", "%d: want at least 1024", c.Kafka.FetchMaxBytes)
	}
	switch c.Kafka.OutOfRange {
	case outOfRangeEarliest, outOfRangeLatest, outOfRangeFail:
	default:
		bad("kafka.out_of_range", "%q: want earliest, latest or fail", c.Kafka.OutOfRange)
	}
	if c.Kafka.PartitionDiscoveryInterval < 10*time.Millisecond {
		bad("kafka.partition_discovery_interval", "%v: want at least 10ms (e.g. 30s)", c.Kafka.PartitionDiscoveryInterval)
	}
	now := time.Now()
	if err := security.CheckKafka("kafka", c.Kafka.TLS, c.Kafka.SASL, c.Kerberos.On(), now); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.Etcd.validateAuth(now)...)
	if _, err := c.Metrics.TLS.Server("metrics.tls", now); err != nil {
		errs = append(errs, err)
	}
	if c.Metrics.BearerTokenFile != "" || c.Metrics.BearerTokenEnv != "" {
		if _, err := c.Metrics.BearerToken(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Metrics.Listen == "" && (c.Metrics.TLS.On() || c.Metrics.BearerTokenFile != "" || c.Metrics.BearerTokenEnv != "") {
		bad("metrics.listen", "missing: metrics.tls or metrics.bearer_token_file is set but there is no endpoint; set listen or remove them")
	}
	if len(c.Etcd.Endpoints) == 0 {
		bad("etcd.endpoints", "missing: list etcd client URLs, or [embedded] with etcd.embedded_dir")
	} else if c.Etcd.Endpoints[0] == "embedded" {
		if len(c.Etcd.Endpoints) > 1 {
			bad("etcd.endpoints", "embedded can't be mixed with other endpoints")
		}
		if c.Etcd.EmbeddedDir == "" {
			bad("etcd.embedded_dir", "missing: where the embedded etcd keeps its data")
		}
	}
	if c.Etcd.LeaseTTL < time.Second {
		bad("etcd.lease_ttl", "%v: want at least 1s", c.Etcd.LeaseTTL)
	}
	if c.Etcd.ConnectTimeout < time.Second {
		bad("etcd.connect_timeout", "%v: want at least 1s (how long a start waits for etcd to answer); default 2m", c.Etcd.ConnectTimeout)
	}
	if !strings.HasPrefix(c.Etcd.Prefix, "/") {
		bad("etcd.prefix", "%q: must start with /", c.Etcd.Prefix)
	}
	if c.Warehouse.URI == "" {
		bad("warehouse.uri", "missing: the table directory, e.g. file:///data/warehouse/ods.db/nginx_access or hdfs://nn:8020/warehouse/…")
	} else if !strings.HasPrefix(c.Warehouse.URI, "file:///") && !strings.HasPrefix(c.Warehouse.URI, "hdfs://") && !strings.HasPrefix(c.Warehouse.URI, "/") {
		bad("warehouse.uri", "%q: want file:///absolute/path or hdfs://host:port/path", c.Warehouse.URI)
	}
	errs = append(errs, c.validateKerberos()...)
	if c.Warehouse.Timeout < time.Second {
		bad("warehouse.timeout", "%v: want at least 1s (a healthy HDFS close can take seconds); default 1m", c.Warehouse.Timeout)
	}
	switch c.Format.Name {
	case "text":
		if c.Format.Compression != "none" && c.Format.Compression != "zstd" {
			bad("format.compression", "%q: the text format takes none or zstd", c.Format.Compression)
		}
	case "lzo":
		if c.Format.Compression != "lzo" {
			bad("format.compression", "%q: the lzo format is always lzo-compressed; leave it out", c.Format.Compression)
		}
		if c.Format.LzoInputFormat != LzoHadoopLzo && c.Format.LzoInputFormat != LzoText {
			bad("format.lzo_input_format", "%q: want hadoop-lzo (DeprecatedLzoTextInputFormat, with .lzo.index) or text (TextInputFormat, no index; Spark and Trino read it as is)", c.Format.LzoInputFormat)
		}
	case "orc":
		if c.Format.Schema == "" && len(c.Hive.Metastore.URIs) == 0 {
			bad("format.schema", "missing: the orc format needs the table schema (e.g. struct<ts:bigint,msg:string>), or hive.metastore.uris to read it from the table")
		}
		if c.Format.Compression != "zstd" && c.Format.Compression != "zlib" && c.Format.Compression != "none" {
			bad("format.compression", "%q: the orc format takes zstd, zlib or none", c.Format.Compression)
		}
	default:
		bad("format.name", "%q: want text, lzo or orc", c.Format.Name)
	}
	if c.Format.BlockSize < 0 || c.Format.StripeSize < 0 || c.Format.MemoryBudget < 0 {
		bad("format", "block_size, stripe_size and memory_budget must not be negative")
	}
	if c.EventTime.Field == "" {
		bad("event_time.field", "missing: the JSON field that holds the event time, e.g. ts")
	}
	switch c.EventTime.Format {
	case "epoch_ms", "epoch_s", "rfc3339":
	default:
		bad("event_time.format", "%q: want epoch_ms, epoch_s or rfc3339", c.EventTime.Format)
	}
	if _, err := time.LoadLocation(c.EventTime.Timezone); err != nil {
		bad("event_time.timezone", "%q: not a known IANA time zone (e.g. UTC, Asia/Shanghai)", c.EventTime.Timezone)
	} else if _, err := ParsePattern(c.Partition.Pattern, time.UTC); err != nil {
		bad("partition.pattern", "%v", err)
	}
	if c.EventTime.MaxFuture < 0 {
		bad("event_time.max_future", "%v: must not be negative", c.EventTime.MaxFuture)
	}
	if c.Checkpoint.Interval < 10*time.Millisecond {
		bad("checkpoint.interval", "%v: want at least 10ms", c.Checkpoint.Interval)
	}
	if c.Parallelism < 1 || c.Parallelism > 256 {
		bad("parallelism", "%d: want 1 to 256 goroutines (1 is one core's worth; more than the topic's Kafka partitions leaves some idle)", c.Parallelism)
	}
	if c.Watermark.OutOfOrderness < 0 {
		bad("watermark.out_of_orderness", "%v: must not be negative", c.Watermark.OutOfOrderness)
	}
	if c.Watermark.IdleCheckpoints < 1 {
		bad("watermark.idle_checkpoints", "%d: want at least 1", c.Watermark.IdleCheckpoints)
	}
	if c.Commit.Delay < 0 {
		bad("commit.delay", "%v: must not be negative", c.Commit.Delay)
	}
	if c.Commit.Horizon < time.Hour {
		bad("commit.horizon", "%v: want at least 1h (how far behind the watermark empty partitions are still committed)", c.Commit.Horizon)
	}
	if len(c.Hive.CommitSteps) > 0 {
		// Only a Config built in Go gets here: ParseConfig refuses the key.
		bad("hive.commit_steps", "list the steps under commit.steps instead")
	} else {
		h := c.Hive
		h.CommitSteps, h.StepsKey, h.Kerberos = c.Commit.Steps, "commit.steps", c.Kerberos.On()
		if err := h.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Index.FileRetention < c.Index.Retention {
		bad("index.file_retention", "%v: want at least index.retention (%v): a reader handed a retired file's name must still find it", c.Index.FileRetention, c.Index.Retention)
	}
	if c.Compaction.TargetSize < 1<<20 {
		bad("compaction.target_size", "%d: want at least 1 MiB (e.g. 268435456, the HDFS block size)", c.Compaction.TargetSize)
	}
	if c.Compaction.MaxDelay < time.Second || c.Compaction.MaxBytesPerSecond < 0 {
		bad("compaction", "max_delay must be at least 1s and max_bytes_per_second not negative")
	}
	if c.Compaction.Concurrency < 1 || c.Compaction.Concurrency > 64 {
		bad("compaction.concurrency", "%d: want 1 to 64 merged files written at once (default 2)", c.Compaction.Concurrency)
	}
	if c.Index.Retention < time.Hour {
		bad("index.retention", "%v: want at least 1h (how long file-index entries are kept for lagging readers)", c.Index.Retention)
	}
	if c.Late.Policy != "append" && c.Late.Policy != "sink" {
		bad("late.policy", "%q: want append or sink", c.Late.Policy)
	}
	return errors.Join(errs...)
}

// validateKerberos checks the kerberos block's files (without asking the
// KDC: the start does that) and the keys that go with it.
func (c *Config) validateKerberos() []error {
	var errs []error
	if c.Kerberos.On() {
		if _, err := c.Kerberos.Client("kerberos"); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Warehouse.NamenodePrincipal != "" {
		if !c.Kerberos.On() {
			errs = append(errs, errors.New("warehouse.namenode_principal: set without kerberos; add kerberos.principal and kerberos.keytab, or remove it"))
		} else if _, err := security.ServicePrincipal("warehouse.namenode_principal", c.Warehouse.NamenodePrincipal); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Hive.Metastore.KerberosPrincipal != "" && !c.Kerberos.On() {
		// Without a login the client would speak plain Thrift to a
		// metastore the operator said is Kerberized.
		errs = append(errs, errors.New("hive.metastore.kerberos_principal: set without kerberos; add kerberos.principal and kerberos.keytab, or remove it"))
	}
	switch c.Warehouse.DataTransferProtection {
	case "":
	case "authentication", "integrity", "privacy":
		if !c.Kerberos.On() {
			errs = append(errs, errors.New("warehouse.data_transfer_protection: set without kerberos; add kerberos.principal and kerberos.keytab, or remove it"))
		}
	default:
		errs = append(errs, fmt.Errorf("warehouse.data_transfer_protection: %q: want authentication, integrity or privacy (the cluster's dfs.data.transfer.protection)", c.Warehouse.DataTransferProtection))
	}
	return errs
}

// NamenodeSPN is the service principal landfall asks the KDC a NameNode
// ticket for: warehouse.namenode_principal without its realm, nn/_HOST
// by default. Call it after Validate.
func (c WarehouseConfig) NamenodeSPN() string {
	if c.NamenodePrincipal == "" {
		return "nn/_HOST"
	}
	spn, _ := security.ServicePrincipal("warehouse.namenode_principal", c.NamenodePrincipal)
	return spn
}

// validateAuth checks etcd's tls block and credentials.
func (c EtcdConfig) validateAuth(now time.Time) []error {
	var errs []error
	if len(c.Endpoints) > 0 && c.Endpoints[0] == "embedded" {
		if c.TLS.On() || c.Username != "" || c.PasswordFile != "" || c.PasswordEnv != "" {
			errs = append(errs, errors.New("etcd.endpoints: [embedded] takes no etcd.tls, etcd.username or etcd.password_file; remove them or list a real cluster"))
		}
		return errs
	}
	if _, err := c.TLS.Client("etcd.tls", now, nil); err != nil {
		errs = append(errs, err)
	}
	if c.TLS.On() {
		for i, e := range c.Endpoints {
			if strings.HasPrefix(e, "http://") {
				errs = append(errs, fmt.Errorf("etcd.endpoints[%d]: %q with etcd.tls: use https://", i, e))
			}
		}
	}
	switch {
	case c.Username != "":
		if _, err := c.Password(); err != nil {
			errs = append(errs, err)
		}
	case c.PasswordFile != "" || c.PasswordEnv != "":
		errs = append(errs, errors.New("etcd.username: missing: etcd.password_file is set; name the etcd user"))
	}
	return errs
}

// Password reads etcd's password (etcd.password_file or etcd.password_env).
func (c EtcdConfig) Password() (security.Secret, error) {
	return security.ReadSecret("etcd.password_file", c.PasswordFile, "etcd.password_env", c.PasswordEnv)
}

// BearerToken reads the token /metrics requires.
func (c MetricsConfig) BearerToken() (security.Secret, error) {
	return security.ReadSecret("metrics.bearer_token_file", c.BearerTokenFile, "metrics.bearer_token_env", c.BearerTokenEnv)
}

// LoadConfig reads a YAML file; unknown keys are errors so that a typo never
// silently falls back to a default.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return ParseConfig(b)
}

// ParseConfig parses, defaults and validates a YAML configuration.
func ParseConfig(b []byte) (*Config, error) {
	// A node first: yaml's decoding errors name Go types and fields, the
	// walk names the keys as the file spells them, all of them at once.
	var n yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(b)).Decode(&n); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse config: %w", err)
	}
	if errs := checkNode(&n, reflect.TypeOf(Config{}), ""); len(errs) > 0 {
		return nil, fmt.Errorf("invalid config:\n%w", errors.Join(errs...))
	}
	var c Config
	if err := n.Decode(&c); err != nil {
		return nil, fmt.Errorf("parse config: %w", err)
	}
	c.Defaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("invalid config:\n%w", err)
	}
	return &c, nil
}
