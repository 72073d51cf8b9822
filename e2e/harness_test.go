//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/landfall/landfall/cmd/landfall/loggen"
	"github.com/landfall/landfall/committer/committest"
	"github.com/landfall/landfall/hive"
	"github.com/landfall/landfall/internal/testenv"
	"github.com/landfall/landfall/state"
	"github.com/landfall/landfall/writer/fsys"
)

// table is one test's world on the real cluster: a Kafka topic, a logid in
// etcd, a table directory on HDFS, a landfall config file, and a producer
// that remembers what Kafka acknowledged.
type table struct {
	t          *testing.T
	name       string
	topic      string
	partitions int32
	logid      string
	root       string // HDFS path of the table
	fs         *fsys.HDFS
	cfgPath    string
	workdir    string
	kafka      string
	etcd       *clientv3.Client
	kopts      []kgo.Opt // TLS and SASL of the secured Kafka, for every client of the test
	prod       *kgo.Client
	hms        *hive.Client // nil without tableConfig.metastore
	hiveDB     string
	format     string
	lzoIndex   bool // lzo files have their .lzo.index (format.lzo_input_format: hadoop-lzo)

	mu       sync.Mutex
	gen      *loggen.Generator
	produced map[string]loggen.Kind // acknowledged by Kafka
	maybe    map[string]bool        // produce failed: may or may not be in Kafka
	eventAt  map[string]time.Time   // event time (the record's ts) of valid and late records
}

// tableConfig is what a test changes in the landfall config.
type tableConfig struct {
	checkpoint     time.Duration
	outOfOrderness time.Duration
	idle           int
	leaseTTL       time.Duration
	format         string
	// metastore: the table is created in the e2e Hive metastore and
	// landfall commits partitions there before writing _SUCCESS.
	metastore bool
	// ddl: the table is created the way a user would, from the config with
	// landfall hive ddl / hive create, instead of by the test.
	ddl bool
	// webhook, if set, is the URL of a webhook step after success-file.
	webhook string
	// compaction turns compaction on, merging to 1 MiB files.
	compaction bool
	// warehouseTimeout, if set, is warehouse.timeout: the deadline of every
	// filesystem call.
	warehouseTimeout time.Duration
	// replicas, if set, places each partition of the topic on these
	// brokers (node ids), e.g. [[1] [2]] with kafka.sh start-broker2.
	replicas [][]int32
	// secure runs against kafka-secure.sh's SASL_SSL broker and
	// etcd-secure.sh's TLS+RBAC etcd (secure_test.go), as the logid
	// their role allows.
	secure bool
	// timezone, if set, is event_time.timezone (default UTC; hourDir
	// assumes UTC).
	timezone string
	// formatExtra is added to the format section, e.g. an orc schema,
	// bloom_filter_columns or lzo_input_format (replacing the default
	// schema when it sets one).
	formatExtra string
	// kerberos writes to hdfs-krb.sh's Kerberized HDFS as
	// landfall/localhost (kerberos_test.go); the test reads back as the
	// superuser nn/localhost.
	kerberos bool
	// gssapi (with secure and kerberos) has landfall consume through
	// kafka-secure.sh's GSSAPI listener with the kerberos block's
	// principal (gssapi_test.go); the test's own clients stay on SCRAM.
	gssapi bool
}

func newTable(t *testing.T, partitions int32, tc tableConfig) *table {
	t.Helper()
	kafka := endpoint(t, "LANDFALL_E2E_KAFKA")
	etcdURL := endpoint(t, "LANDFALL_E2E_ETCD")
	hdfsAddr := endpoint(t, "LANDFALL_E2E_HDFS")
	bin := endpoint(t, "LANDFALL_E2E_BIN")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("landfall binary: %v (make e2e builds it)", err)
	}
	work := os.Getenv("LANDFALL_E2E_WORKDIR")
	if work == "" {
		work = t.TempDir()
	}
	name := fmt.Sprintf("%s_%d", strings.ToLower(strings.NewReplacer("/", "_", "Test", "").Replace(t.Name())), time.Now().UnixNano()%1e9)
	tb := &table{
		t: t, name: name, topic: "e2e." + name, partitions: partitions, logid: name,
		root: "/landfall-e2e/warehouse/" + name, workdir: filepath.Join(work, name), kafka: kafka,
		gen: loggen.New(uint64(time.Now().UnixNano())), produced: map[string]loggen.Kind{},
		maybe: map[string]bool{}, eventAt: map[string]time.Time{},
	}
	if err := os.MkdirAll(tb.workdir, 0o755); err != nil {
		t.Fatal(err)
	}
	etcdCfg := clientv3.Config{Endpoints: []string{etcdURL}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()}
	var secureYAML secureYAML
	if tc.secure {
		sc := secureServices(t)
		kafka, etcdURL, tb.kafka, tb.logid = sc.kafka, sc.etcd, sc.kafka, sc.logid
		tb.kopts, etcdCfg, secureYAML = sc.kafkaOpts(t), sc.etcdConfig(t), sc.yaml()
	}

	// The topic: auto creation is off on the e2e broker, as in production.
	adm, err := kgo.NewClient(append(tb.kopts, kgo.SeedBrokers(kafka))...)
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if tc.replicas == nil {
		resp, err := kadm.NewClient(adm).CreateTopic(ctx, partitions, 1, nil, tb.topic)
		if err == nil {
			err = resp.Err
		}
		if err != nil {
			t.Fatalf("create topic %s: %v", tb.topic, err)
		}
	} else if err := createPlaced(ctx, adm, tb.topic, tc.replicas); err != nil {
		t.Fatalf("create topic %s: %v", tb.topic, err)
	}

	tb.prod, err = kgo.NewClient(append(tb.kopts, kgo.SeedBrokers(kafka), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
		kgo.ProducerLinger(5*time.Millisecond), kgo.RecordDeliveryTimeout(2*time.Minute))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tb.prod.Close)
	etcdCfg.Endpoints = []string{etcdURL}
	tb.etcd, err = clientv3.New(etcdCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tb.etcd.Close() })
	if tc.secure {
		// Every secured table shares the one logid the etcd role allows:
		// the state a previous test left (a checkpoint whose index entry
		// is on another warehouse) is not this table's to recover.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := tb.etcd.Delete(ctx, "/landfall/"+tb.logid+"/", clientv3.WithPrefix())
		cancel()
		if err != nil {
			t.Fatalf("clear the shared logid %s's state: %v", tb.logid, err)
		}
	}
	if tc.kerberos {
		hdfsAddr = endpoint(t, "LANDFALL_E2E_KRB_HDFS")
		tb.fs = newKerberosHDFS(t, tb.root)
	} else {
		tb.fs = newHDFS(t, tb.root)
	}

	if tc.checkpoint == 0 {
		tc.checkpoint = time.Second
	}
	if tc.outOfOrderness == 0 {
		tc.outOfOrderness = time.Minute
	}
	if tc.idle == 0 {
		tc.idle = 2
	}
	if tc.leaseTTL == 0 {
		tc.leaseTTL = 2 * time.Second
	}
	if tc.format == "" {
		tc.format = "text"
	}
	tb.format = tc.format
	tb.lzoIndex = tc.format == "lzo" && !strings.Contains(tc.formatExtra, "lzo_input_format: text")
	formatSection := formatYAML(tc.format)
	if strings.Contains(tc.formatExtra, "schema:") {
		formatSection = "  name: " + tc.format + "\n"
	}
	formatSection += tc.formatExtra
	eventTimeExtra := ""
	if tc.timezone != "" {
		eventTimeExtra = "  timezone: " + tc.timezone + "\n"
	}
	hiveYAML, steps := "", "[success-file]"
	if tc.metastore {
		hiveYAML, steps = tb.createHiveTable(hdfsAddr, tc.format, !tc.ddl, tc.kerberos), "[metastore, success-file]"
	}
	if tc.webhook != "" {
		if hiveYAML == "" {
			hiveYAML = "hive:\n"
		}
		hiveYAML += fmt.Sprintf("  webhook:\n    url: %q\n    timeout: 5s\n", tc.webhook)
		steps = strings.TrimSuffix(steps, "]") + ", webhook]"
	}
	cfg := fmt.Sprintf(`logid: %s
kafka:
  brokers: [%q]
  topic: %q
  fetch_max_bytes: 1048576
etcd:
  endpoints: [%q]
  lease_ttl: %s
  dial_timeout: 3s
warehouse:
  uri: %q
format:
%sevent_time:
  field: ts
  format: epoch_ms
  max_future: 87600h
%scheckpoint:
  interval: %s
watermark:
  out_of_orderness: %s
  idle_checkpoints: %d
commit:
  steps: %s
late:
  policy: append
%s`, tb.logid, kafka, tb.topic, etcdURL, tc.leaseTTL, "hdfs://"+hdfsAddr+tb.root, formatSection, eventTimeExtra,
		tc.checkpoint, tc.outOfOrderness, tc.idle, steps, hiveYAML)
	if tc.compaction {
		cfg += "compaction:\n  enabled: true\n  target_size: 1048576\n"
	}
	if tc.secure {
		cfg = strings.Replace(cfg, "\netcd:\n", "\n"+secureYAML.kafka+"etcd:\n"+secureYAML.etcd, 1)
	}
	if tc.kerberos {
		cfg = strings.Replace(cfg, "\nformat:", "\n"+kerberosServices(t).yaml()+"format:", 1)
	}
	if tc.gssapi {
		cfg = secureServices(t).gssapiConfig(t, cfg)
	}
	if tc.warehouseTimeout > 0 {
		cfg = strings.Replace(cfg, "\nformat:", fmt.Sprintf("\n  timeout: %s\nformat:", tc.warehouseTimeout), 1)
	}
	tb.cfgPath = filepath.Join(tb.workdir, "landfall.yaml")
	if err := os.WriteFile(tb.cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if tc.ddl {
		tb.createFromDDL()
	}
	t.Logf("table %s: topic %s, hdfs %s, logs in %s", tb.name, tb.topic, tb.root, tb.workdir)
	return tb
}

// createPlaced creates a topic whose partition i lives on replicas[i].
func createPlaced(ctx context.Context, cl *kgo.Client, topic string, replicas [][]int32) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, -1, -1
	for i, r := range replicas {
		a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		a.Partition, a.Replicas = int32(i), r
		rt.ReplicaAssignment = append(rt.ReplicaAssignment, a)
	}
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 30000
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	for _, t := range resp.Topics {
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			return fmt.Errorf("%w: %v", err, t.ErrorMessage)
		}
	}
	return nil
}

// produceTo is produce into one partition.
func (tb *table) produceTo(ctx context.Context, partition int32, n int, et time.Time, step time.Duration) (time.Time, error) {
	cl, err := kgo.NewClient(append(tb.kopts, kgo.SeedBrokers(tb.kafka), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RecordDeliveryTimeout(time.Minute))...)
	if err != nil {
		return et, err
	}
	defer cl.Close()
	return tb.produceVia(ctx, cl, partition, n, et, step)
}

// hiveTable is the name of the test tables in the metastore (one database
// per test).
const hiveTable = "logs"

// createHiveTable creates the test's database (and, with table, its table)
// in the e2e Hive metastore, located at the table's HDFS directory and
// partitioned like the default pattern, and returns the hive section of the
// config.
//
// With kerberos it is hms-krb.sh's Kerberized metastore, which the test
// talks to as hive/localhost (so that landfall/localhost's tickets at the
// KDC are landfall's alone).
func (tb *table) createHiveTable(hdfsAddr, format string, table, kerberos bool) string {
	t := tb.t
	t.Helper()
	var uri string
	var opts []hive.Option
	if kerberos {
		uri = endpoint(t, "LANDFALL_E2E_KRB_HMS")
		opts = append(opts, hive.WithKerberos(kerberosServices(t).login(t, "hive/localhost", "hive")))
	} else {
		uri = endpoint(t, "LANDFALL_E2E_HMS")
	}
	c, err := hive.NewClient(hive.MetastoreConfig{URIs: []string{uri}, CallTimeout: 30 * time.Second}, opts...)
	if err != nil {
		t.Fatalf("metastore client: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tb.hms, tb.hiveDB = c, tb.name
	if err := c.CreateDatabase(ctx, tb.hiveDB, "hdfs://"+hdfsAddr+"/landfall-e2e/hive/"+tb.hiveDB+".db"); err != nil {
		t.Fatalf("create database %s on hdfs: %v (the metastore needs a working HDFS client on its classpath; see out/e2e/hms.log)", tb.hiveDB, err)
	}
	hiveYAML := fmt.Sprintf("hive:\n  database: %s\n  table: %s\n  metastore:\n    uris: [%q]\n    call_timeout: 30s\n", tb.hiveDB, hiveTable, uri)
	if !table {
		return hiveYAML
	}
	spec := hive.TableSpec{
		Database: tb.hiveDB, Table: hiveTable, Location: "hdfs://" + hdfsAddr + tb.root, Format: format,
		Columns:       []hive.Column{{Name: "line", Type: "string"}},
		PartitionKeys: []hive.Column{{Name: "log_date", Type: "string"}, {Name: "log_hour", Type: "string"}},
	}
	if err := c.CreateTable(ctx, spec); err != nil {
		t.Fatalf("create table %s.%s: %v", tb.hiveDB, hiveTable, err)
	}
	return hiveYAML
}

// createFromDDL creates the table from the config as a user would: it
// prints the statement with landfall hive ddl and runs it with real Hive
// (e2e/hiveql: Hive's Driver, there is no HiveServer2 here); landfall hive
// create must then find the table and accept it. The metastore's table must
// be the one the statement describes.
func (tb *table) createFromDDL() {
	t := tb.t
	t.Helper()
	bin := os.Getenv("LANDFALL_E2E_BIN")
	out, err := exec.Command(bin, "hive", "ddl", "--config", tb.cfgPath).CombinedOutput()
	if err != nil {
		t.Fatalf("landfall hive ddl: %v\n%s", err, out)
	}
	ddl := string(out)
	t.Logf("landfall hive ddl:\n%s", ddl)
	sql := filepath.Join(tb.workdir, "create-table.sql")
	if err := os.WriteFile(sql, out, 0o644); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	out, err = exec.Command("bash", filepath.Join(testenv.RepoRoot(t), "e2e", "hiveql", "run.sh"), endpoint(t, "LANDFALL_E2E_HMS"), sql).CombinedOutput()
	if err != nil {
		t.Fatalf("hive could not run the statement landfall hive ddl printed: %v\n%s", err, out)
	}
	t.Logf("table created by hive from the ddl in %s", time.Since(t0).Round(100*time.Millisecond))
	out, err = exec.Command(bin, "hive", "create", "--config", tb.cfgPath).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "exists and matches") {
		t.Fatalf("landfall hive create on the table hive made: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ht, err := tb.hms.GetTable(ctx, tb.hiveDB, hiveTable)
	if err != nil {
		t.Fatalf("the table landfall hive create made: %v", err)
	}
	var cols []string
	for _, c := range ht.Sd.Cols {
		cols = append(cols, fmt.Sprintf("`%s` %s", c.Name, c.Type))
	}
	n := len(cols)
	for _, c := range ht.PartitionKeys {
		cols = append(cols, fmt.Sprintf("`%s` %s", c.Name, c.Type))
	}
	for _, c := range cols {
		if !strings.Contains(ddl, c) {
			t.Errorf("metastore column %s is not in the DDL", c)
		}
	}
	if got := len(regexp.MustCompile("(?m)^  `").FindAllString(ddl, -1)); got != len(cols) {
		t.Errorf("DDL declares %d columns, the metastore table has %d", got, len(cols))
	}
	if !strings.Contains(ddl, "PARTITIONED BY (\n  "+cols[n]) {
		t.Errorf("DDL partition keys start otherwise than the metastore's %s", cols[n])
	}
	if !strings.Contains(ddl, "LOCATION '"+ht.Sd.Location+"'") {
		t.Errorf("metastore location %s is not the DDL's", ht.Sd.Location)
	}
	stored := map[string]string{"orc": "STORED AS ORC", "text": "STORED AS TEXTFILE", "lzo": "LzoTextInputFormat"}
	inputFormat := tb.format[:3]
	if tb.format == "lzo" && !tb.lzoIndex {
		stored["lzo"], inputFormat = "INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'", "text"
	}
	if !strings.Contains(ddl, stored[tb.format]) || !strings.Contains(strings.ToLower(ht.Sd.InputFormat), inputFormat) {
		t.Errorf("format %s: DDL lacks %q or metastore input format is %s", tb.format, stored[tb.format], ht.Sd.InputFormat)
	}
	if ht.TableType != "EXTERNAL_TABLE" || !strings.Contains(ddl, "CREATE EXTERNAL TABLE") {
		t.Errorf("table type %s; landfall tables are external", ht.TableType)
	}
}

// hivePartitions lists the table's partitions in the metastore as
// directory → location.
func (tb *table) hivePartitions() (map[string]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	parts, err := tb.hms.ListPartitions(ctx, tb.hiveDB, hiveTable)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, p := range parts {
		if len(p.Values) != 2 {
			return nil, fmt.Errorf("partition with values %v, want log_date and log_hour", p.Values)
		}
		loc := ""
		if p.Sd != nil {
			loc = p.Sd.Location
		}
		out["log_date="+p.Values[0]+"/log_hour="+p.Values[1]] = loc
	}
	return out, nil
}

// orcSchema is the ORC schema of the e2e tables: a few of loggen's fields
// (the rest of each record is dropped, as Hive would with a narrower table).
const orcSchema = "struct<ts:bigint,id:string,level:string,service:string,status:int,latency_ms:bigint>"

// formatYAML is the format section of the config for a format name.
func formatYAML(name string) string {
	s := "  name: " + name + "\n"
	if name == "orc" {
		s += "  schema: \"" + orcSchema + "\"\n"
	}
	return s
}

// produce sends n generated records with event times from et, step apart,
// and returns the next event time. Records count as produced once Kafka
// acknowledged them; those of a failed batch may or may not be there.
func (tb *table) produce(ctx context.Context, n int, et time.Time, step time.Duration) (time.Time, error) {
	return tb.produceVia(ctx, tb.prod, -1, n, et, step)
}

// produceVia produces through cl, into partition if it is not negative.
func (tb *table) produceVia(ctx context.Context, cl *kgo.Client, partition int32, n int, et time.Time, step time.Duration) (time.Time, error) {
	recs := make([]*kgo.Record, 0, n)
	ids := make([]string, 0, n)
	kinds := make([]loggen.Kind, 0, n)
	ets := make([]time.Time, 0, n)
	tb.mu.Lock()
	for i := 0; i < n; i++ {
		v, kind := tb.gen.Next(nil, et)
		recs = append(recs, &kgo.Record{Topic: tb.topic, Partition: max(partition, 0), Value: v})
		ids = append(ids, fmt.Sprint(tb.gen.Seq()))
		kinds = append(kinds, kind)
		var ts time.Time
		if m := tsRE.FindSubmatch(v); m != nil && kind != loggen.Malformed {
			ms, _ := strconv.ParseInt(string(m[1]), 10, 64)
			ts = time.UnixMilli(ms)
		}
		ets = append(ets, ts)
		et = et.Add(step)
	}
	tb.mu.Unlock()
	err := cl.ProduceSync(ctx, recs...).FirstErr()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for i, id := range ids {
		if err != nil {
			tb.maybe[id] = true
			continue
		}
		tb.produced[id] = kinds[i]
		if kinds[i] != loggen.Malformed {
			tb.eventAt[id] = ets[i]
		}
	}
	if err != nil {
		return et, fmt.Errorf("produce: %w", err)
	}
	return et, nil
}

// endOffsets are Kafka's log end offsets of the topic.
func (tb *table) endOffsets() (map[int32]int64, error) {
	cl, err := kgo.NewClient(append(tb.kopts, kgo.SeedBrokers(tb.kafka))...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lo, err := kadm.NewClient(cl).ListEndOffsets(ctx, tb.topic)
	if err != nil {
		return nil, err
	}
	out := map[int32]int64{}
	var lerr error
	lo.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			lerr = o.Err
		}
		out[o.Partition] = o.Offset
	})
	return out, lerr
}

// checkpoint reads landfall's durable checkpoint from etcd (nil before the
// first one).
func (tb *table) checkpoint() (*state.Checkpoint, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return state.Peek(ctx, tb.etcd, tb.logid)
}

// waitDrained waits until the durable checkpoint has consumed everything in
// Kafka and no file is pending.
func (tb *table) waitDrained(within time.Duration) {
	tb.t.Helper()
	end, err := tb.endOffsets()
	if err != nil {
		tb.t.Fatalf("end offsets: %v", err)
	}
	deadline := time.Now().Add(within)
	var cp *state.Checkpoint
	for time.Now().Before(deadline) {
		cp, err = tb.checkpoint()
		if err == nil && cp != nil && len(cp.Pending) == 0 {
			done := true
			for p, o := range end {
				if cp.Offsets[p] < o {
					done = false
				}
			}
			if done {
				return
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	tb.t.Fatalf("landfall did not consume up to %v within %v; last checkpoint %+v (err %v)", end, within, cp, err)
}

// landfall is one landfall process.
type landfall struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// start runs bin/landfall run --config … as a separate process, with env
// added to its environment.
func (tb *table) start(name string, env ...string) *landfall {
	tb.t.Helper()
	l, err := tb.tryStart(name, env...)
	if err != nil {
		tb.t.Fatal(err)
	}
	return l
}

func (tb *table) tryStart(name string, env ...string) (*landfall, error) {
	logPath := filepath.Join(tb.workdir, name+".log")
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "=== %s start %s\n", time.Now().Format(time.RFC3339Nano), name)
	cmd := exec.Command(os.Getenv("LANDFALL_E2E_BIN"), "run", "--config", tb.cfgPath)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(append(os.Environ(), "HADOOP_USER_NAME=root"), env...)
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start landfall %s: %w", name, err)
	}
	l := &landfall{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		l.err = cmd.Wait()
		out.Close()
		close(l.done)
	}()
	return l, nil
}

func (l *landfall) exited() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// kill9 kills the process as a crash would and waits for it.
func (l *landfall) kill9() {
	_ = l.cmd.Process.Signal(syscall.SIGKILL)
	<-l.done
}

// stop asks for a graceful stop and requires a clean exit.
func (l *landfall) stop(t *testing.T) {
	t.Helper()
	if err := l.cmd.Process.Signal(syscall.SIGTERM); err != nil && !l.exited() {
		t.Fatalf("signal landfall %s: %v", l.name, err)
	}
	select {
	case <-l.done:
	case <-time.After(90 * time.Second):
		l.kill9()
		t.Fatalf("landfall %s did not stop within 90s of SIGTERM; log %s", l.name, l.log)
	}
	if l.err != nil {
		t.Fatalf("landfall %s exited with %v after SIGTERM:\n%s", l.name, l.err, logTail(l.log, 30))
	}
}

// logTail returns the last n lines of a log file.
func logTail(p string, n int) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitLog waits until the process's log has a line matching re.
func (l *landfall) waitLog(t *testing.T, re *regexp.Regexp, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(l.log); err == nil && re.Match(b) {
			return
		}
		if l.exited() {
			t.Fatalf("landfall %s exited (%v) before logging %s:\n%s", l.name, l.err, re, logTail(l.log, 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("landfall %s did not log %s within %v:\n%s", l.name, re, within, logTail(l.log, 30))
}

var (
	idRE = regexp.MustCompile(`"id":"(\d+)"`)
	tsRE = regexp.MustCompile(`^\{"ts":(\d+),`)
)

// landed is what a reader of the table finds on HDFS.
type landed struct {
	ids     map[string]int      // id → times found in committed data files
	dirOf   map[string]string   // id → partition directory
	invalid map[string][]string // id → reasons in the invalid sink
	byDir   map[string]int      // data records per partition directory
	success map[string]bool     // partitions with _SUCCESS
	files   int
	hidden  []string // hidden files outside .landfall and the sinks
	// noIndex are committed lzop files without their .lzo.index sidecar
	// (published before the data file, so never missing).
	noIndex []string
}

// readTable reads every committed file of the table (or of one partition
// directory under it) back from HDFS, as Hive would: names starting with "."
// or "_" are invisible, except the _invalid sink, read for the check. It
// uses the project's own readers, fast enough for the commit watcher.
func (tb *table) readTable(dir string) (landed, error) { return tb.read(dir, false) }

// readBack reads the whole table with readers landfall did not write:
// Debian's lzop for .lzo files, pyarrow for .orc files, a plain read for
// text. It is the final exactly-once check.
func (tb *table) readBack() (landed, error) { return tb.read("", true) }

func (tb *table) read(dir string, independent bool) (landed, error) {
	l := landed{ids: map[string]int{}, dirOf: map[string]string{}, invalid: map[string][]string{}, byDir: map[string]int{}, success: map[string]bool{}}
	add := func(rel string, lines []string) error {
		d := path.Dir(rel)
		for _, line := range lines {
			m := idRE.FindStringSubmatch(line)
			if m == nil {
				return fmt.Errorf("%s: record without id: %q", rel, line)
			}
			l.ids[m[1]]++
			l.dirOf[m[1]] = d
			l.byDir[d]++
		}
		return nil
	}
	var orcFiles []string // read in one pyarrow run after the walk
	err := tb.walk(dir, func(rel string, info fs.FileInfo) error {
		d, name := path.Dir(rel), info.Name()
		switch {
		case name == "_SUCCESS":
			l.success[d] = true
			return nil
		case strings.HasPrefix(rel, "_invalid/") && strings.HasPrefix(name, "part-"):
			lines, err := tb.readLines(rel)
			if err != nil {
				return err
			}
			for _, line := range lines {
				var ir struct {
					Reason string `json:"reason"`
					Rec    string `json:"record_b64"`
				}
				if err := json.Unmarshal([]byte(line), &ir); err != nil {
					return fmt.Errorf("%s: bad invalid-sink line %q: %w", rel, line, err)
				}
				raw, err := base64.StdEncoding.DecodeString(ir.Rec)
				if err != nil {
					return fmt.Errorf("%s: bad base64: %w", rel, err)
				}
				if m := idRE.FindSubmatch(raw); m != nil {
					l.invalid[string(m[1])] = append(l.invalid[string(m[1])], ir.Reason)
				}
			}
			return nil
		case strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || strings.Contains(rel, "/_") || strings.HasPrefix(rel, "_"):
			l.hidden = append(l.hidden, rel)
			return nil
		case strings.HasSuffix(name, ".index"):
			return nil
		}
		if strings.HasSuffix(name, ".lzo") && tb.lzoIndex {
			if _, err := tb.fs.Stat(rel + ".index"); err != nil {
				l.noIndex = append(l.noIndex, rel)
			}
		}
		l.files++
		var lines []string
		var err error
		switch {
		case independent && strings.HasSuffix(name, ".orc"):
			orcFiles = append(orcFiles, rel)
			return nil
		case independent && strings.HasSuffix(name, ".lzo"):
			lines, err = tb.lzopLines(rel)
		default:
			lines, err = tb.readLines(rel)
		}
		if err != nil {
			return err
		}
		return add(rel, lines)
	})
	if err != nil || len(orcFiles) == 0 {
		return l, err
	}
	byFile, err := tb.pyarrowIDs(orcFiles)
	if err != nil {
		return l, err
	}
	for _, rel := range orcFiles {
		if err := add(rel, byFile[rel]); err != nil {
			return l, err
		}
	}
	return l, nil
}

// lzopLines decompresses a committed lzop file with Debian's lzop.
func (tb *table) lzopLines(rel string) ([]string, error) {
	r, err := tb.fs.Open(rel)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out, errb bytes.Buffer
	cmd := exec.Command("lzop", "-d", "-c")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("lzop -d %s: %v: %s (run make test-deps if lzop is missing)", rel, err, errb.String())
	}
	return splitLines(out.String()), nil
}

// pyarrowIDs copies ORC files from HDFS and reads their id column with
// pyarrow in one Python run; it returns the ids as {"id":"…"} lines per file.
func (tb *table) pyarrowIDs(rels []string) (map[string][]string, error) {
	dir := tb.t.TempDir()
	var list strings.Builder
	for i, rel := range rels {
		local := filepath.Join(dir, fmt.Sprintf("%05d.orc", i))
		if err := tb.copyOut(rel, local); err != nil {
			return nil, err
		}
		fmt.Fprintf(&list, "%s\t%s\n", local, rel)
	}
	const script = `
import sys, pyarrow.orc as po
for line in sys.stdin:
    local, rel = line.rstrip("\n").split("\t")
    f = po.ORCFile(local)
    ids = f.read(columns=["id"]).column("id").to_pylist()
    if len(ids) != f.nrows:
        sys.exit("%s: read %d rows, the footer says %d" % (rel, len(ids), f.nrows))
    for v in ids:
        print(rel + "\t" + ("" if v is None else v))
`
	var out, errb bytes.Buffer
	cmd := exec.Command(testenv.Python3(tb.t), "-c", script)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(list.String()), &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("pyarrow read-back: %v: %s (run make test-deps if pyarrow is missing)", err, errb.String())
	}
	byFile := map[string][]string{}
	for _, line := range splitLines(out.String()) {
		rel, id, ok := strings.Cut(line, "\t")
		if !ok {
			return nil, fmt.Errorf("pyarrow read-back: bad line %q", line)
		}
		byFile[rel] = append(byFile[rel], fmt.Sprintf(`{"id":%q}`, id))
	}
	return byFile, nil
}

func (tb *table) copyOut(rel, local string) error {
	r, err := tb.fs.Open(rel)
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.Create(local)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("copy %s from HDFS: %w", rel, err)
	}
	return f.Close()
}

func splitLines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// walk visits the files under dir (relative to the table root), skipping
// landfall's own .landfall directory.
func (tb *table) walk(dir string, fn func(rel string, info fs.FileInfo) error) error {
	ents, err := tb.fs.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		rel := path.Join(dir, e.Name())
		if e.IsDir() {
			if e.Name() == ".landfall" {
				continue
			}
			if err := tb.walk(rel, fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(rel, e); err != nil {
			return err
		}
	}
	return nil
}

// readLines returns the records of a data file with the project's own
// readers (committest), ORC rows reduced to {"id":"…"}.
func (tb *table) readLines(rel string) ([]string, error) {
	recs, err := committest.ReadFile(tb.fs, rel, committest.Decoders)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = string(r)
	}
	return out, nil
}

// verify reads the table back with the independent readers and checks
// that every record is there exactly once and, with a watch, that no
// partition was committed before its on-time records.
func (tb *table) verify(watch *successWatch) landed {
	tb.t.Helper()
	l, err := tb.readBack()
	if err != nil {
		tb.t.Fatalf("read the table back from hdfs: %v", err)
	}
	tb.checkExactlyOnce(l)
	if watch != nil {
		watch.check(l)
	}
	return l
}

// checkExactlyOnce asserts that every acknowledged record is in exactly one
// committed data file or the invalid sink, that records of failed produce
// calls are there at most once, and that nothing else is.
func (tb *table) checkExactlyOnce(l landed) {
	t := tb.t
	t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	missing, dup := 0, 0
	report := func(format string, a ...any) {
		if missing+dup <= 10 {
			t.Errorf(format, a...)
		}
	}
	for id, kind := range tb.produced {
		n := l.ids[id] + len(l.invalid[id])
		switch {
		case n == 0:
			missing++
			report("record %s (kind %d) is missing", id, kind)
		case n > 1:
			dup++
			report("record %s found %d times (data %d, invalid %d)", id, n, l.ids[id], len(l.invalid[id]))
		case kind == loggen.Malformed && len(l.invalid[id]) != 1:
			t.Errorf("malformed record %s is not in the invalid sink", id)
		}
	}
	for id := range tb.maybe {
		if n := l.ids[id] + len(l.invalid[id]); n > 1 {
			dup++
			report("record %s (of a failed produce) found %d times", id, n)
		}
	}
	for id := range l.ids {
		if _, ok := tb.produced[id]; !ok && !tb.maybe[id] {
			t.Errorf("record %s was never produced", id)
		}
	}
	if len(l.hidden) > 0 {
		t.Errorf("hidden files left in the table: %v", l.hidden)
	}
	if len(l.noIndex) > 0 {
		t.Errorf("committed lzop files without their .lzo.index: %v", l.noIndex)
	}
	if missing+dup > 0 {
		t.Fatalf("%d records acknowledged by Kafka: %d missing, %d duplicated", len(tb.produced), missing, dup)
	}
	t.Logf("%d records acknowledged (%d more of failed produce calls), all found exactly once in %d files on HDFS; %d in the invalid sink",
		len(tb.produced), len(tb.maybe), l.files, len(l.invalid))
}

// hourDir is the partition directory of an event time under the default
// pattern log_date={yyyyMMdd}/log_hour={HH}, in UTC.
func hourDir(t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("log_date=%s/log_hour=%02d", t.Format("20060102"), t.Hour())
}

// hmsKey prefixes successWatch keys of partitions seen in the metastore.
const hmsKey = "hms:"

// successWatch records, for every partition, what its files held when its
// _SUCCESS first appeared — to prove that no partition is committed early.
type successWatch struct {
	tb   *table
	mu   sync.Mutex
	seen map[string]map[string]bool // partition → ids visible at commit
	at   map[string]time.Time       // partition → when the commit was seen
	errs []error
}

func (tb *table) watchSuccess(ctx context.Context, every time.Duration) *successWatch {
	w := &successWatch{tb: tb, seen: map[string]map[string]bool{}, at: map[string]time.Time{}}
	go func() {
		for ctx.Err() == nil {
			w.scan()
			select {
			case <-ctx.Done():
			case <-time.After(every):
			}
		}
	}()
	return w
}

// scan snapshots the partitions whose _SUCCESS is new.
func (w *successWatch) scan() {
	var fresh []string
	err := w.tb.walk("", func(rel string, info fs.FileInfo) error {
		if info.Name() != "_SUCCESS" || strings.HasPrefix(rel, "_") {
			return nil
		}
		d := path.Dir(rel)
		w.mu.Lock()
		_, ok := w.seen[d]
		w.mu.Unlock()
		if !ok {
			fresh = append(fresh, d)
		}
		return nil
	})
	var herr error
	if err == nil && w.tb.hms != nil {
		// A partition visible in the metastore is as visible to Hive as one
		// with _SUCCESS: it must be complete too. A metastore that is down
		// (a test may stop it) hides nothing new; _SUCCESS is still watched.
		var parts map[string]string
		parts, herr = w.tb.hivePartitions()
		for d := range parts {
			w.mu.Lock()
			_, ok := w.seen[hmsKey+d]
			w.mu.Unlock()
			if !ok {
				fresh = append(fresh, hmsKey+d)
			}
		}
	}
	if err == nil {
		for _, d := range fresh {
			l, rerr := w.tb.readTable(strings.TrimPrefix(d, hmsKey))
			if rerr != nil {
				err = rerr
				break
			}
			ids := map[string]bool{}
			for id := range l.ids {
				ids[id] = true
			}
			w.mu.Lock()
			w.seen[d] = ids
			w.at[d] = time.Now()
			w.mu.Unlock()
		}
	}
	for _, e := range []error{err, herr} {
		if e != nil && !errors.Is(e, fs.ErrNotExist) {
			// HDFS may be restarting under a fault; note it, the final scan decides.
			w.mu.Lock()
			w.errs = append(w.errs, e)
			w.mu.Unlock()
		}
	}
}

// check: every record that is in a partition at the end and was on time
// (not generated late) was already visible when the partition's _SUCCESS
// appeared; and every partition with data has its _SUCCESS.
func (w *successWatch) check(final landed) {
	t := w.tb.t
	t.Helper()
	w.scan()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tb.mu.Lock()
	defer w.tb.mu.Unlock()
	early := 0
	for id, d := range final.dirOf {
		kind, ok := w.tb.produced[id]
		if !ok || kind != loggen.Valid {
			continue // late records may be appended after the commit
		}
		for _, key := range []string{d, hmsKey + d} {
			snap, committed := w.seen[key]
			if !committed || snap[id] {
				continue
			}
			early++
			if early <= 5 {
				what := "got _SUCCESS"
				if key != d {
					what = "appeared in the metastore"
				}
				t.Errorf("partition %s %s (seen at %s) before on-time record %s (event time %s) was visible in it",
					d, what, w.at[key].UTC().Format("15:04:05.000"), id, w.tb.eventAt[id].UTC().Format(time.RFC3339))
			}
		}
	}
	var dirs []string
	for d := range final.byDir {
		dirs = append(dirs, d)
		if !final.success[d] {
			t.Errorf("partition %s holds %d records but has no _SUCCESS", d, final.byDir[d])
		}
	}
	sort.Strings(dirs)
	if w.tb.hms != nil {
		parts, err := w.tb.hivePartitions()
		if err != nil {
			t.Fatalf("list metastore partitions: %v", err)
		}
		for d := range final.success {
			if strings.HasPrefix(d, "_") {
				continue
			}
			if _, ok := parts[d]; !ok {
				t.Errorf("partition %s has _SUCCESS but is not in the metastore", d)
			}
		}
		for d, loc := range parts {
			if !final.success[d] {
				t.Errorf("partition %s is in the metastore but has no _SUCCESS", d)
			}
			if !strings.HasSuffix(loc, w.tb.root+"/"+d) {
				t.Errorf("metastore partition %s is located at %q, want the table directory %s/%s", d, loc, w.tb.root, d)
			}
		}
		t.Logf("%d partitions in the metastore, each with _SUCCESS and its directory", len(parts))
	}
	if early > 0 {
		t.Fatalf("%d on-time records arrived in partitions after their _SUCCESS or metastore commit", early)
	}
	t.Logf("partitions with data: %v; %d partitions committed (watched %d commits; %d transient read errors)", dirs, len(final.success), len(w.seen), len(w.errs))
}
