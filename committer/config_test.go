package committer

import (
	"strings"
	"testing"
	"time"
)

const goodConfig = `
logid: nginx_access
kafka: {brokers: ["k1:9092"], topic: nginx}
etcd: {endpoints: ["http://e1:2379"]}
warehouse: {uri: "file:///data/warehouse/ods.db/nginx_access"}
event_time: {field: ts}
`

func TestConfigDefaultsAndValid(t *testing.T) {
	c, err := ParseConfig([]byte(goodConfig))
	if err != nil {
		t.Fatal(err)
	}
	if c.Checkpoint.Interval.Seconds() != 10 || c.Format.Name != "text" || c.Late.Policy != "append" || c.Hive.Table != "nginx_access" || len(c.Commit.Steps) != 1 || c.Warehouse.Timeout != time.Minute {
		t.Fatalf("defaults not applied: %+v", c)
	}
}

// Every bad key fails at start with a message that names the key.
func TestConfigErrorsNameTheKey(t *testing.T) {
	cases := []struct{ edit, key string }{
		{"logid: ''", "logid:"},
		{"logid: 'bad/id'", "logid:"},
		{"kafka: {brokers: [], topic: nginx}", "kafka.brokers:"},
		{"kafka: {brokers: [k:1]}", "kafka.topic:"},
		{"kafka: {brokers: [k:1], topic: t, start_offset: middle}", "kafka.start_offset:"},
		{"kafka: {brokers: [k:1], topic: t, out_of_range: skip}", "kafka.out_of_range:"},
		{"kafka: {brokers: [k:1], topic: t, partition_discovery_interval: 1ms}", "kafka.partition_discovery_interval:"},
		{"etcd: {endpoints: []}", "etcd.endpoints:"},
		{"etcd: {endpoints: [embedded]}", "etcd.embedded_dir:"},
		{"warehouse: {uri: 's3://bucket/x'}", "warehouse.uri:"},
		{"warehouse: {uri: 'file:///w', timeout: 500ms}", "warehouse.timeout:"},
		{"warehouse: {uri: 'file:///w', timeout: -1s}", "warehouse.timeout:"},
		{"format: {name: parquet}", "format.name:"},
		{"format: {name: orc}", "format.schema:"},
		{"format: {name: text, compression: gzip}", "format.compression:"},
		{"event_time: {field: ''}", "event_time.field:"},
		{"event_time: {field: ts, format: iso}", "event_time.format:"},
		{"event_time: {field: ts, timezone: Mars/Olympus}", "event_time.timezone:"},
		{"partition: {pattern: 'dt={yyyy}'}", "partition.pattern:"},
		{"partition: {pattern: 'dt={yyyyMMdd}/hr={hh}'}", "partition.pattern:"},
		{"checkpoint: {interval: 1ms}", "checkpoint.interval:"},
		{"parallelism: -1", "parallelism: -1: want 1 to 256"},
		{"parallelism: 1000", "parallelism: 1000: want 1 to 256"},
		{"commit: {steps: [success-file, carrier-pigeon]}", "carrier-pigeon"},
		{"commit: {steps: [metastore, success-file]}", "hive.metastore.uris"},
		{"hive: {commit_steps: [success-file]}", "hive.commit_steps:"},
		{"late: {policy: drop}", "late.policy:"},
		{"compaction: {enabled: true, concurrency: 100}", "compaction.concurrency:"},
		{"compaction: {enabled: true, concurrency: -1}", "compaction.concurrency:"},
		{"unknown_key: 1", "unknown_key"},
	}
	for _, c := range cases {
		key := strings.SplitN(c.edit, ":", 2)[0]
		var lines []string
		for _, l := range strings.Split(goodConfig, "\n") {
			if !strings.HasPrefix(l, key+":") {
				lines = append(lines, l)
			}
		}
		lines = append(lines, c.edit)
		_, err := ParseConfig([]byte(strings.Join(lines, "\n")))
		if err == nil {
			t.Errorf("%s: accepted", c.edit)
			continue
		}
		if !strings.Contains(err.Error(), c.key) {
			t.Errorf("%s: error %q does not name %s", c.edit, err, c.key)
		}
	}
}

// The example config in the repository root stays valid.
func TestExampleConfigParses(t *testing.T) {
	c, err := LoadConfig("../landfall.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Format.Name != "orc" || len(c.Commit.Steps) != 2 {
		t.Fatalf("example parsed to %+v", c)
	}
}

// YAML errors name the key as the user writes it, in full, with the fix;
// never a Go type or a key the user can't write (issue 16).
func TestConfigYAMLErrorsNameTheFullKey(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"kafka: {brokers: [k:1], topic: t, fetch_max_byte: 1}", "kafka.fetch_max_byte: unknown key (did you mean kafka.fetch_max_bytes?)"},
		{"checkpoint: {interval: 10 seconds}", `checkpoint.interval: "10 seconds" is not a duration; write e.g. 10s`},
		{"checkpoint: {interval: 10}", "checkpoint.interval: 10 is not a duration; write e.g. 10s"},
		{"hive: {metastore: {uris: [thrift://h:9083], call_timout: 5s}}", "hive.metastore.call_timout: unknown key (did you mean hive.metastore.call_timeout?)"},
		{"kafka: {brokers: [k:1], topic: t, fetch_max_bytes: lots}", `kafka.fetch_max_bytes: "lots" is not an integer`},
		{"kafka: {brokers: k:1, topic: t}", "kafka.brokers: want a list"},
		{"hive: {commit_steps: [success-file]}", "hive.commit_steps: unknown key (landfall's configuration lists it under commit.steps)"},
		{"commit: {steps: [success-file, carrier-pigeon]}", `commit.steps[1]: unknown step "carrier-pigeon"`},
		{"commit: {steps: [webhook]}", `remove "webhook" from commit.steps`},
		{"chekpoint: {interval: 2s}", "chekpoint: unknown key (did you mean checkpoint?)"},
	}
	for _, c := range cases {
		_, err := ParseConfig([]byte(withSection(c.yaml)))
		if err == nil {
			t.Errorf("%s: accepted", c.yaml)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.yaml, err, c.want)
		}
		for _, bad := range []string{"hive.commit_steps[", "committer.", "time.Duration", "!!"} {
			if strings.Contains(err.Error(), bad) {
				t.Errorf("%s: error %q names %s, which the user can't write", c.yaml, err, bad)
			}
		}
	}
}

// withSection is goodConfig with the top-level section of edit replaced by
// edit.
func withSection(edit string) string {
	key := strings.SplitN(edit, ":", 2)[0]
	var lines []string
	for _, l := range strings.Split(goodConfig, "\n") {
		if !strings.HasPrefix(l, key+":") {
			lines = append(lines, l)
		}
	}
	return strings.Join(append(lines, edit), "\n")
}
