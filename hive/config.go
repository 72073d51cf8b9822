package hive

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/landfall/landfall/internal/security"
)

// Config is the `hive:` section of landfall's configuration. Zero durations
// and counts mean the documented defaults.
type Config struct {
	// Database and Table name the table landfall lands into. The table is
	// the source of truth for columns, partition keys, location and format.
	Database string `yaml:"database"`
	Table    string `yaml:"table"`

	Metastore MetastoreConfig `yaml:"metastore"`

	// CommitSteps is the ordered list of partition-commit steps, like Flink's
	// sink.partition-commit.policy.kind: "metastore", "success-file",
	// "webhook", "kafka". Default: [metastore, success-file].
	CommitSteps []string `yaml:"commit_steps"`
	// StepsKey is the key that lists the steps where this section is
	// embedded in a larger configuration (landfall's is commit.steps), so
	// that messages name the key the user writes. Default hive.commit_steps.
	StepsKey string `yaml:"-"`
	// Kerberos says whether the configuration this section is embedded in
	// has a kerberos block (landfall's top-level one): hive.kafka.sasl's
	// GSSAPI takes its principal and keytab from there.
	Kerberos bool `yaml:"-"`

	Webhook WebhookConfig `yaml:"webhook"`
	Kafka   KafkaConfig   `yaml:"kafka"`
}

// MetastoreConfig says how to reach the Hive metastore.
type MetastoreConfig struct {
	// URIs are tried in order; a URI that fails is skipped until the others
	// failed too (failover, as hive.metastore.uris does).
	URIs []string `yaml:"uris"`
	// ConnectTimeout bounds one TCP connect (default 5s).
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// CallTimeout bounds one Thrift call, send and reply (default 60s: the
	// metastore can be slow on big tables, and a hung one must not hold a
	// commit for ever).
	CallTimeout time.Duration `yaml:"call_timeout"`
	// MaxConns is the most connections open at once (default 4).
	MaxConns int `yaml:"max_conns"`
	// Retry bounds the retries inside one call; the commit queue retries
	// failed commits again later with its own backoff.
	Retry RetryConfig `yaml:"retry"`
	// KerberosPrincipal is the metastore's Kerberos principal, its
	// hive.metastore.kerberos.principal (default hive/_HOST@<kerberos
	// realm>); _HOST stands for each URI's host, lowercased, as Hive's
	// own client replaces it. Used only with a Kerberos client
	// (WithKerberos): the connection then speaks SASL GSSAPI.
	KerberosPrincipal string `yaml:"kerberos_principal"`
}

// RetryConfig is an exponential backoff with full jitter.
type RetryConfig struct {
	// Attempts is the number of tries of one operation (default 4).
	Attempts int `yaml:"attempts"`
	// InitialBackoff is the first wait (default 200ms); it doubles up to
	// MaxBackoff (default 5s).
	InitialBackoff time.Duration `yaml:"initial_backoff"`
	MaxBackoff     time.Duration `yaml:"max_backoff"`
}

// WebhookConfig configures the "webhook" commit step.
type WebhookConfig struct {
	URL string `yaml:"url"`
	// Timeout bounds one HTTP request (default 10s).
	Timeout time.Duration     `yaml:"timeout"`
	Headers map[string]string `yaml:"headers"`
	Retry   RetryConfig       `yaml:"retry"`
	// TLS is for an https URL: the CA that signs the receiver's
	// certificate (ca_file) and a client certificate (cert_file,
	// key_file) for receivers that ask for one.
	TLS security.TLS `yaml:"tls"`
}

// KafkaConfig configures the "kafka" commit step: one record per partition
// commit in Topic.
type KafkaConfig struct {
	Brokers []string `yaml:"brokers"`
	Topic   string   `yaml:"topic"`
	// Timeout bounds one produce including franz-go's own retries
	// (default 30s).
	Timeout time.Duration `yaml:"timeout"`
	// TLS and SASL are the same blocks as kafka.tls and kafka.sasl, for
	// the notification cluster.
	TLS  security.TLS  `yaml:"tls"`
	SASL security.SASL `yaml:"sasl"`
}

// Step names accepted in hive.commit_steps.
const (
	StepMetastore   = "metastore"
	StepSuccessFile = "success-file"
	StepWebhook     = "webhook"
	StepKafka       = "kafka"
)

var defaultCommitSteps = []string{StepMetastore, StepSuccessFile}

func (r RetryConfig) withDefaults() RetryConfig {
	if r.Attempts == 0 {
		r.Attempts = 4
	}
	if r.InitialBackoff == 0 {
		r.InitialBackoff = 200 * time.Millisecond
	}
	if r.MaxBackoff == 0 {
		r.MaxBackoff = 5 * time.Second
	}
	return r
}

func (c MetastoreConfig) withDefaults() MetastoreConfig {
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 5 * time.Second
	}
	if c.CallTimeout == 0 {
		c.CallTimeout = 60 * time.Second
	}
	if c.MaxConns == 0 {
		c.MaxConns = 4
	}
	c.Retry = c.Retry.withDefaults()
	return c
}

func (c WebhookConfig) withDefaults() WebhookConfig {
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	c.Retry = c.Retry.withDefaults()
	return c
}

func (c KafkaConfig) withDefaults() KafkaConfig {
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	return c
}

// Steps returns the configured step names, or the default list.
func (c Config) Steps() []string {
	if len(c.CommitSteps) == 0 {
		return defaultCommitSteps
	}
	return c.CommitSteps
}

func (c Config) uses(step string) bool {
	for _, s := range c.Steps() {
		if s == step {
			return true
		}
	}
	return false
}

func (c Config) stepsKey() string {
	if c.StepsKey == "" {
		return "hive.commit_steps"
	}
	return c.StepsKey
}

// Validate checks the section; each error names its key under "hive." and
// says how to fix it.
func (c Config) Validate() error {
	var errs []error
	stepsKey := c.stepsKey()
	seen := map[string]bool{}
	for i, s := range c.Steps() {
		switch s {
		case StepMetastore, StepSuccessFile, StepWebhook, StepKafka:
		default:
			errs = append(errs, fmt.Errorf("%s[%d]: unknown step %q; use metastore, success-file, webhook or kafka", stepsKey, i, s))
		}
		if seen[s] {
			errs = append(errs, fmt.Errorf("%s[%d]: step %q listed twice; list each step once", stepsKey, i, s))
		}
		seen[s] = true
	}
	if c.uses(StepMetastore) || len(c.Metastore.URIs) > 0 {
		if c.Database == "" {
			errs = append(errs, errors.New("hive.database: empty; set the database of the table landfall writes"))
		}
		if c.Table == "" {
			errs = append(errs, errors.New("hive.table: empty; set the table landfall writes"))
		}
		errs = append(errs, c.Metastore.validate("hive.metastore", stepsKey)...)
	}
	if c.uses(StepWebhook) {
		errs = append(errs, c.Webhook.validate("hive.webhook", stepsKey)...)
	}
	if c.uses(StepKafka) {
		errs = append(errs, c.Kafka.validate("hive.kafka", stepsKey, c.Kerberos)...)
	}
	return errors.Join(errs...)
}

func (c MetastoreConfig) validate(key, stepsKey string) []error {
	var errs []error
	if len(c.URIs) == 0 {
		errs = append(errs, fmt.Errorf("%s.uris: empty; list the metastore's thrift://host:port URIs (or remove \"metastore\" from %s)", key, stepsKey))
	}
	for i, u := range c.URIs {
		if _, err := parseThriftURI(u); err != nil {
			errs = append(errs, fmt.Errorf("%s.uris[%d]: %v", key, i, err))
		}
	}
	if c.ConnectTimeout < 0 {
		errs = append(errs, fmt.Errorf("%s.connect_timeout: %v is negative; use e.g. 5s", key, c.ConnectTimeout))
	}
	if c.CallTimeout < 0 {
		errs = append(errs, fmt.Errorf("%s.call_timeout: %v is negative; use e.g. 60s", key, c.CallTimeout))
	}
	if c.MaxConns < 0 {
		errs = append(errs, fmt.Errorf("%s.max_conns: %d is negative; use e.g. 4", key, c.MaxConns))
	}
	if c.KerberosPrincipal != "" {
		if _, err := security.ServicePrincipal(key+".kerberos_principal", c.KerberosPrincipal); err != nil {
			errs = append(errs, fmt.Errorf("%w; set it to the metastore's hive.metastore.kerberos.principal, e.g. hive/_HOST@EXAMPLE.COM", err))
		}
	}
	return append(errs, c.Retry.validate(key+".retry")...)
}

func (r RetryConfig) validate(key string) []error {
	var errs []error
	if r.Attempts < 0 {
		errs = append(errs, fmt.Errorf("%s.attempts: %d is negative; use 1 or more", key, r.Attempts))
	}
	if r.InitialBackoff < 0 || r.MaxBackoff < 0 {
		errs = append(errs, fmt.Errorf("%s: negative backoff; use durations like 200ms and 5s", key))
	}
	if r.InitialBackoff > 0 && r.MaxBackoff > 0 && r.MaxBackoff < r.InitialBackoff {
		errs = append(errs, fmt.Errorf("%s.max_backoff: %v is below initial_backoff %v; raise it", key, r.MaxBackoff, r.InitialBackoff))
	}
	return errs
}

func (c WebhookConfig) validate(key, stepsKey string) []error {
	var errs []error
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		errs = append(errs, fmt.Errorf("%s.url: empty; set the URL to POST partition commits to (or remove \"webhook\" from %s)", key, stepsKey))
	case err != nil:
		errs = append(errs, fmt.Errorf("%s.url: %v", key, err))
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		errs = append(errs, fmt.Errorf("%s.url: %q is not an http(s) URL; use e.g. https://scheduler.example/hooks/partition", key, c.URL))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("%s.timeout: %v is negative; use e.g. 10s", key, c.Timeout))
	}
	for h := range c.Headers {
		if strings.EqualFold(h, "Idempotency-Key") || strings.EqualFold(h, "Content-Type") {
			errs = append(errs, fmt.Errorf("%s.headers: %q is set by landfall; remove it", key, h))
		}
	}
	if c.TLS.On() {
		if u != nil && u.Scheme == "http" {
			errs = append(errs, fmt.Errorf("%s.tls: set but %s.url is http://; use https:// or remove the tls block", key, key))
		}
		if _, err := c.TLS.Client(key+".tls", time.Now(), nil); err != nil {
			errs = append(errs, err)
		}
	}
	return append(errs, c.Retry.validate(key+".retry")...)
}

func (c KafkaConfig) validate(key, stepsKey string, kerberos bool) []error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, fmt.Errorf("%s.brokers: empty; list host:port seed brokers of the notification cluster (or remove \"kafka\" from %s)", key, stepsKey))
	}
	if c.Topic == "" {
		errs = append(errs, fmt.Errorf("%s.topic: empty; set the notification topic", key))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("%s.timeout: %v is negative; use e.g. 30s", key, c.Timeout))
	}
	if err := security.CheckKafka(key, c.TLS, c.SASL, kerberos, time.Now()); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// DefaultKerberosPrincipal is the metastore principal without
// kerberos_principal, before the realm is added.
const DefaultKerberosPrincipal = "hive/_HOST"

// metastoreSPN is the service principal to ask tickets for to reach the
// metastore at addr (host:port): the principal without its realm, _HOST
// replaced by the host. Call it after validate.
func (c MetastoreConfig) metastoreSPN(addr string) string {
	p := c.KerberosPrincipal
	if p == "" {
		p = DefaultKerberosPrincipal
	}
	p, _, _ = strings.Cut(p, "@")
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	return strings.Replace(p, "_HOST", strings.ToLower(host), 1)
}

// parseThriftURI turns thrift://host:port into host:port.
func parseThriftURI(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%q is not a URI: %v; use thrift://host:9083", s, err)
	}
	if u.Scheme != "thrift" {
		return "", fmt.Errorf("%q: scheme %q, want thrift://host:port", s, u.Scheme)
	}
	host, port := u.Hostname(), u.Port()
	if host == "" || port == "" {
		return "", fmt.Errorf("%q: want thrift://host:port (metastores usually listen on 9083)", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return "", fmt.Errorf("%q: bad port %q", s, port)
	}
	return u.Host, nil
}
