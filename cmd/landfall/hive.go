package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path"
	"time"

	krb "github.com/jcmturner/gokrb5/v8/client"
	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/hive"
	"github.com/landfall/landfall/writer/fsys"
	"github.com/landfall/landfall/writer/orc"
)

// hiveSteps connects to the metastore (when one is configured), checks the
// table against the config — the table is the source of truth for the
// schema — and builds the commit steps. close releases what it opened. kc
// is the kerberos block's client (nil without one), for SASL GSSAPI to the
// metastore and a GSSAPI hive.kafka.sasl.
func hiveSteps(ctx context.Context, cfg *committer.Config, kc *krb.Client, wfs fsys.FS, cache tableCache, reg prometheus.Registerer, log *slog.Logger) (steps []hive.Step, close func(), err error) {
	close = func() {}
	var client *hive.Client
	if len(cfg.Hive.Metastore.URIs) > 0 {
		client, err = hive.NewClient(cfg.Hive.Metastore, metastoreOptions(kc, hive.WithRegisterer(reg), hive.WithLogger(log))...)
		if err != nil {
			return nil, close, err
		}
		close = func() { client.Close() }
		if err := checkTable(ctx, client, cfg, cache, log); err != nil {
			close()
			return nil, func() {}, err
		}
	}
	h := cfg.Hive
	h.CommitSteps = cfg.Commit.Steps
	opts := []hive.Option{hive.WithRegisterer(reg), hive.WithLogger(log)}
	if client != nil {
		opts = append(opts, hive.WithClient(client))
	}
	if kc != nil {
		opts = append(opts, hive.WithKerberos(kc))
	}
	s, err := hive.NewSteps(h, committer.SuccessFile{FS: wfs}, opts...)
	if err != nil {
		close()
		return nil, func() {}, err
	}
	prev := close
	return s.List, func() { s.Close(); prev() }, nil
}

// checkTable reads the table and fails on any disagreement with the config.
// A metastore that is down at start is not fatal when the config, or the
// table as last read (cached in etcd), says enough to write: the commits
// wait in the queue. A missing table is fatal.
func checkTable(ctx context.Context, client *hive.Client, cfg *committer.Config, cache tableCache, log *slog.Logger) error {
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	t, err := client.LoadTable(tctx, cfg.Hive.Database, cfg.Hive.Table)
	if err != nil {
		if hive.IsPermanent(err) {
			return fmt.Errorf("hive table %s.%s: %w", cfg.Hive.Database, cfg.Hive.Table, err)
		}
		if cfg.Format.Name == "orc" && cfg.Format.Schema == "" {
			ct, cerr := cache.get(ctx)
			if cerr != nil || ct == nil || ct.Format != cfg.Format.Name || ct.Schema == "" {
				return fmt.Errorf("format.schema: not set, the metastore can't be read to take it from the table (%w), and etcd has no copy of the table from an earlier start (%v)", err, cerr)
			}
			cfg.Format.Schema = ct.Schema
			log.Warn("metastore unreachable at start; writing with the table's schema as read at an earlier start, commits will wait",
				"read_at", ct.ReadAt, "schema", ct.Schema, "err", err)
			return nil
		}
		log.Warn("metastore unreachable at start; writing with the configured format, commits will wait", "err", err)
		return nil
	}
	if err := matchTable(t, cfg); err != nil {
		return err
	}
	if cfg.Format.Name == "orc" && cfg.Format.Schema == "" {
		cfg.Format.Schema = t.Schema()
		log.Info("schema from the metastore", "schema", cfg.Format.Schema)
	}
	format, _ := t.Format() // matchTable checked it
	if err := cache.put(ctx, cachedTable{Format: format, Schema: t.Schema(), ReadAt: time.Now().UTC()}); err != nil {
		log.Warn("could not keep a copy of the table in etcd; a start during a metastore outage will need format.schema", "err", err)
	}
	return nil
}

// tableCache keeps in etcd the table as last read from the metastore, so a
// restart during a metastore outage still has the schema the table defines.
// A zero tableCache keeps nothing.
type tableCache struct {
	cli *clientv3.Client
	key string
}

type cachedTable struct {
	Format string    `json:"format"`
	Schema string    `json:"schema"`
	ReadAt time.Time `json:"read_at"`
}

func newTableCache(cli *clientv3.Client, cfg *committer.Config) tableCache {
	return tableCache{cli: cli, key: path.Join(cfg.Etcd.Prefix, cfg.LogID, "table")}
}

func (c tableCache) put(ctx context.Context, t cachedTable) error {
	if c.cli == nil {
		return nil
	}
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = c.cli.Put(ctx, c.key, string(b))
	return err
}

// get returns nil when nothing is kept.
func (c tableCache) get(ctx context.Context) (*cachedTable, error) {
	if c.cli == nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := c.cli.Get(ctx, c.key)
	if err != nil || len(resp.Kvs) == 0 {
		return nil, err
	}
	var t cachedTable
	if err := json.Unmarshal(resp.Kvs[0].Value, &t); err != nil {
		return nil, fmt.Errorf("%s: %w", c.key, err)
	}
	return &t, nil
}

// matchTable fails, naming the config keys, when the table disagrees with
// the config.
func matchTable(t *hive.Table, cfg *committer.Config) error {
	keys, err := patternKeys(cfg)
	if err != nil {
		return err
	}
	if err := hive.Check(t, hive.Expect{Format: cfg.Format.Name, LzoAsText: cfg.Format.LzoInputFormat == committer.LzoText,
		PartitionKeys: keys, FormatKey: "format.name", PartitionKeyKey: "partition.pattern"}); err != nil {
		return fmt.Errorf("hive table %s.%s does not match the config:\n%w", cfg.Hive.Database, cfg.Hive.Table, err)
	}
	return nil
}

func patternKeys(cfg *committer.Config) ([]string, error) {
	loc, err := time.LoadLocation(cfg.EventTime.Timezone)
	if err != nil {
		return nil, err
	}
	p, err := committer.ParsePattern(cfg.Partition.Pattern, loc)
	if err != nil {
		return nil, fmt.Errorf("partition.pattern: %w", err)
	}
	return p.Keys(), nil
}

// cmdHive serves `landfall hive ddl|create --config …`.
func cmdHive(args []string) error {
	const usage = "usage: landfall hive ddl --config landfall.yaml | landfall hive create --config landfall.yaml"
	if len(args) == 0 || (args[0] != "ddl" && args[0] != "create") {
		return errors.New(usage)
	}
	fl := flag.NewFlagSet("hive "+args[0], flag.ExitOnError)
	cfgPath := fl.String("config", "landfall.yaml", "configuration file")
	logLevel, logFormat := logFlags(fl)
	_ = fl.Parse(args[1:])
	// The same logger as run's, so that a site's log shipping parses both.
	log, err := newLogger(os.Stderr, *logLevel, *logFormat)
	if err != nil {
		return err
	}
	cfg, err := committer.LoadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if args[0] == "create" {
		return createTable(cfg, log)
	}
	ddl, err := tableDDL(cfg)
	if err != nil {
		return err
	}
	fmt.Println(ddl)
	return nil
}

// createTable creates in the metastore the table that `hive ddl` prints, for
// sites that reach the metastore without HiveServer2. An existing table is
// fine when it matches the config, the same check `run` makes at start.
func createTable(cfg *committer.Config, log *slog.Logger) error {
	if len(cfg.Hive.Metastore.URIs) == 0 {
		return errors.New("hive.metastore.uris: not set; hive create needs a metastore (hive ddl prints the statement instead)")
	}
	kc, err := kerberosLogin(cfg, nil)
	if err != nil {
		return err
	}
	if kc != nil {
		defer kc.Destroy()
	}
	client, err := hive.NewClient(cfg.Hive.Metastore, metastoreOptions(kc, hive.WithLogger(log))...)
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	created, err := ensureTable(ctx, client, cfg)
	if err != nil {
		return err
	}
	if created {
		fmt.Printf("created table %s.%s at %s\n", cfg.Hive.Database, cfg.Hive.Table, cfg.Warehouse.URI)
	} else {
		fmt.Printf("table %s.%s exists and matches the config\n", cfg.Hive.Database, cfg.Hive.Table)
	}
	return nil
}

// ensureTable creates the table of a config, or checks that an existing one
// matches it.
func ensureTable(ctx context.Context, client *hive.Client, cfg *committer.Config) (created bool, err error) {
	spec, err := tableSpec(cfg)
	if err != nil {
		return false, err
	}
	err = client.CreateTable(ctx, spec)
	if !errors.Is(err, hive.ErrAlreadyExists) {
		return err == nil, err
	}
	t, err := client.LoadTable(ctx, spec.Database, spec.Table)
	if err != nil {
		return false, err
	}
	return false, matchTable(t, cfg)
}

// tableSpec is the table that matches a config: the schema's columns (or
// one line column for text and lzo without a schema), the pattern's keys as
// string partition columns, the warehouse URI as location.
func tableSpec(cfg *committer.Config) (hive.TableSpec, error) {
	spec := hive.TableSpec{Database: cfg.Hive.Database, Table: cfg.Hive.Table, Location: cfg.Warehouse.URI, Format: cfg.Format.Name,
		LzoAsText: cfg.Format.Name == "lzo" && cfg.Format.LzoInputFormat == committer.LzoText,
		Comment:   "landed by landfall from Kafka topic " + cfg.Kafka.Topic}
	if cfg.Format.Schema == "" {
		spec.Columns = []hive.Column{{Name: "line", Type: "string"}}
	} else {
		t, err := orc.ParseSchema(cfg.Format.Schema)
		if err != nil {
			return spec, fmt.Errorf("format.schema: %w", err)
		}
		for i, name := range t.FieldNames {
			spec.Columns = append(spec.Columns, hive.Column{Name: name, Type: t.Children[i].String()})
		}
		if cfg.Format.Name != "orc" {
			spec.SerDe = "org.apache.hive.hcatalog.data.JsonSerDe"
		}
	}
	keys, err := patternKeys(cfg)
	if err != nil {
		return spec, err
	}
	for _, k := range keys {
		spec.PartitionKeys = append(spec.PartitionKeys, hive.Column{Name: k, Type: "string"})
	}
	return spec, nil
}

// tableDDL is the statement for the config's table. For an lzo table read
// with hadoop-lzo it adds, as comments, the way to a table Spark and Trino
// read without it.
func tableDDL(cfg *committer.Config) (string, error) {
	spec, err := tableSpec(cfg)
	if err != nil {
		return "", err
	}
	ddl, err := hive.DDL(spec)
	if err != nil || cfg.Format.Name != "lzo" {
		return ddl, err
	}
	if spec.LzoAsText {
		return ddl + lzoTextNote, nil
	}
	return ddl + lzoHadoopNote, nil
}

const lzoHadoopNote = `-- This table reads with hadoop-lzo's DeprecatedLzoTextInputFormat, which Hive,
-- Spark and Trino need on their classpath (it is GPL and not on Maven Central).
-- For a table Spark and Trino read as they ship (plain TextInputFormat with
-- aircompressor's io.airlift.compress.lzo.LzopCodec in io.compression.codecs),
-- set format.lzo_input_format: text before the first file (no .lzo.index is
-- written: TextInputFormat would read it as rows) and run landfall hive ddl again.
`

const lzoTextNote = `-- Plain TextInputFormat: every reader needs an LzopCodec in io.compression.codecs,
-- e.g. Spark: --conf spark.hadoop.io.compression.codecs=io.airlift.compress.lzo.LzopCodec
-- (aircompressor, which Spark ships). Files are not split; no .lzo.index is written.
`
