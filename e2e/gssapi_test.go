//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/landfall/landfall/hive"
)

// gssapiConfig has the config newTable made for the SCRAM listener
// consume through the GSSAPI one instead, with the kerberos block's
// principal: the same broker and topic, the same CA, no password.
func (sc secureCluster) gssapiConfig(t *testing.T, cfg string) string {
	t.Helper()
	scram := fmt.Sprintf("  sasl:\n    mechanism: SCRAM-SHA-512\n    username: %s\n    password_file: %s\n", sc.kafkaUser, sc.kafkaPasswordFile)
	out := strings.Replace(cfg, fmt.Sprintf("brokers: [%q]", sc.kafka), fmt.Sprintf("brokers: [%q]", endpoint(t, "LANDFALL_E2E_GSSAPI_KAFKA")), 1)
	out = strings.Replace(out, scram, "  sasl:\n    mechanism: GSSAPI\n    service_name: kafka\n", 1)
	if strings.Count(out, "GSSAPI") != 1 || strings.Contains(out, sc.kafka) || !strings.Contains(out, "\nkerberos:\n") {
		t.Fatalf("the config is not the secure and Kerberized one this edit expects:\n%s", cfg)
	}
	return out
}

// kdcLog is the KDC's log; its size now is where a test's part of it
// begins.
func (kc krbCluster) kdcLog(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(filepath.Dir(kc.keytabs), "..", "hdfs-krb-kdc.log"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// brokerTicketLogins reads the KDC's log from offset on and returns how
// many broker tickets (kafka/localhost) it issued to landfall/localhost,
// and from how many logins (distinct authtimes of the ticket-granting
// tickets they were asked with).
func (kc krbCluster) brokerTicketLogins(t *testing.T, offset int) (tickets, logins int) {
	t.Helper()
	re := regexp.MustCompile(`TGS_REQ .*ISSUE: authtime (\d+),.* landfall/localhost@` + regexp.QuoteMeta(kc.realm) + ` for kafka/localhost@`)
	auth := map[string]bool{}
	for _, m := range re.FindAllSubmatch(kc.kdcLog(t)[offset:], -1) {
		tickets++
		auth[string(m[1])] = true
	}
	return tickets, len(auth)
}

// notifyViaGSSAPI adds the kafka commit step to the table's config, its
// producer on the GSSAPI listener too, into a topic of its own that it
// returns.
func notifyViaGSSAPI(t *testing.T, tb *table) string {
	t.Helper()
	sc := secureServices(t)
	topic := tb.topic + ".commits"
	adm, err := kgo.NewClient(append(tb.kopts, kgo.SeedBrokers(sc.kafka))...)
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if resp, err := kadm.NewClient(adm).CreateTopic(ctx, 1, 1, nil, topic); err != nil || resp.Err != nil {
		t.Fatalf("create topic %s: %v %v", topic, err, resp.Err)
	}
	cfg, err := os.ReadFile(tb.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(cfg), "  steps: [success-file]\n", "  steps: [success-file, kafka]\n", 1)
	if edited == string(cfg) || strings.Contains(edited, "\nhive:") {
		t.Fatalf("not the config this edit expects:\n%s", cfg)
	}
	edited += fmt.Sprintf("hive:\n  kafka:\n    brokers: [%q]\n    topic: %q\n    tls:\n      ca_file: %s\n    sasl:\n      mechanism: GSSAPI\n",
		endpoint(t, "LANDFALL_E2E_GSSAPI_KAFKA"), topic, sc.caFile)
	if err := os.WriteFile(tb.cfgPath, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	return topic
}

// notifications reads every record of topic (through SCRAM, as the
// test's other clients) as partition-commit notifications.
func notifications(t *testing.T, tb *table, topic string) []hive.Notification {
	t.Helper()
	sc := secureServices(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(append(tb.kopts, kgo.SeedBrokers(sc.kafka), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	end, _ := ends.Lookup(topic, 0)
	var out []hive.Notification
	for int64(len(out)) < end.Offset {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %s: %d of %d notifications: %v", topic, len(out), end.Offset, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			var n hive.Notification
			if err := json.Unmarshal(r.Value, &n); err != nil {
				t.Fatalf("notification at offset %d: %v: %q", r.Offset, err, r.Value)
			}
			out = append(out, n)
		})
	}
	return out
}

// TestSecureGSSAPILandsExactlyOnce: landfall consumes through the SASL_SSL
// GSSAPI listener as landfall/localhost, whose tickets live 90 seconds
// and can't be renewed, writes to the Kerberized HDFS and notifies its
// partition commits through the same listener (hive.kafka), all with the
// same client. The broker has every connection re-authenticate each 20
// seconds, so the first process outlives its first ticket and must log in
// again from the keytab by itself: the KDC issues it broker tickets from
// more than one login while its log shows the one start-time login and no
// restart. Then a kill -9 and a second process: every record lands
// exactly once, and every notification is of a partition with its
// _SUCCESS, some sent after the first ticket expired.
func TestSecureGSSAPILandsExactlyOnce(t *testing.T) {
	kc := kerberosServices(t)
	// A lease of 10 s, not 2: this test is about tickets, and a shared,
	// loaded machine can starve a 2 s keepalive into a lost ownership.
	tb := newTable(t, 3, tableConfig{secure: true, kerberos: true, gssapi: true, leaseTTL: 10 * time.Second})
	notify := notifyViaGSSAPI(t, tb)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	offset := len(kc.kdcLog(t))
	a := tb.start("a")
	a.waitLog(t, regexp.MustCompile(`msg=consuming`), time.Minute)
	et := time.Now().Add(-3 * time.Hour).Truncate(time.Hour)
	var err error
	t0 := time.Now()
	for time.Since(t0) < 120*time.Second {
		if et, err = tb.produce(ctx, 200, et, time.Second); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
	}
	if a.exited() {
		t.Fatalf("landfall exited:\n%s", logTail(a.log, 30))
	}
	tickets, logins := kc.brokerTicketLogins(t, offset)
	if logins < 2 {
		t.Errorf("in %v the KDC issued landfall/localhost %d broker tickets from %d logins; want tickets from a login after the first ticket expired",
			time.Since(t0).Round(time.Second), tickets, logins)
	} else {
		t.Logf("in %v the KDC issued landfall/localhost %d broker tickets from %d logins", time.Since(t0).Round(time.Second), tickets, logins)
	}
	alog, err := os.ReadFile(a.log)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(alog), `msg="kerberos login"`); n != 1 {
		t.Errorf("%d kerberos login lines; want the one at start", n)
	}
	if strings.Contains(string(alog), "pipeline failed") {
		t.Errorf("the pipeline restarted on its own:\n%s", logTail(a.log, 30))
	}

	a.kill9()
	if et, err = tb.produce(ctx, 1000, et, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	b := tb.start("b")
	b.waitLog(t, regexp.MustCompile(`msg=consuming`), time.Minute)
	if _, err = tb.produce(ctx, 1000, et, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	tb.waitDrained(3 * time.Minute)
	b.stop(t)
	tb.verify(nil)
	late := 0
	ns := notifications(t, tb, notify)
	for _, n := range ns {
		if _, err := tb.fs.Stat(path.Join(n.PartitionPath, "_SUCCESS")); err != nil {
			t.Errorf("notified %s (%s), which has no _SUCCESS: %v", n.PartitionPath, n.IdempotencyKey, err)
		}
		if n.CommitTime.After(t0.Add(90 * time.Second)) {
			late++
		}
	}
	if len(ns) == 0 || late == 0 {
		t.Errorf("%d notifications through GSSAPI, %d of them sent after the first ticket expired; want some of each", len(ns), late)
	} else {
		t.Logf("%d notifications through GSSAPI, %d of them sent after the first ticket expired", len(ns), late)
	}

	// A start after a graceful stop sends no notification again: the
	// stop wrote the state as its commits left it. (It may commit the
	// open hour on a stream break: that one is new.)
	sent := map[string]bool{}
	for _, n := range ns {
		sent[n.IdempotencyKey] = true
	}
	c := tb.start("c")
	c.waitLog(t, regexp.MustCompile(`msg=consuming`), time.Minute)
	time.Sleep(3 * time.Second) // a commit the state still queued would run at once
	c.stop(t)
	for _, n := range notifications(t, tb, notify)[len(ns):] {
		if sent[n.IdempotencyKey] {
			t.Errorf("the start after a graceful stop sent %s (%s) again", n.PartitionPath, n.IdempotencyKey)
		}
	}

	texts := map[string][]byte{}
	for _, l := range []string{a.log, b.log, c.log} {
		bb, err := os.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		texts[l] = bb
	}
	grepSecrets(t, secureServices(t).secrets(t), texts)
}

// TestSecureGSSAPIRefused: a GSSAPI start that can't authenticate stops
// in seconds naming what to fix, with nothing written.
func TestSecureGSSAPIRefused(t *testing.T) {
	gssapi := tableConfig{secure: true, kerberos: true, gssapi: true}
	t.Run("wrong service name", func(t *testing.T) {
		// The KDC has no kafka-prod/localhost: the broker ticket can't be had.
		refusedStartOn(t, gssapi, func(_ secureCluster, cfg string) string {
			return strings.Replace(cfg, "service_name: kafka\n", "service_name: kafka-prod\n", 1)
		}, "kafka.sasl.service_name: the KDC knows no broker principal kafka-prod/<broker host>")
	})
	t.Run("stale keytab", func(t *testing.T) {
		kc := kerberosServices(t)
		refusedStartOn(t, gssapi, func(_ secureCluster, cfg string) string {
			return strings.Replace(cfg, "principal: landfall/localhost@"+kc.realm+"\n  keytab: "+kc.keytab("landfall"),
				"principal: landfall-stale/localhost@"+kc.realm+"\n  keytab: "+kc.keytab("stale"), 1)
		}, "kerberos: login of landfall-stale/localhost@LANDFALL.TEST with the keys in "+kc.keytab("stale")+" refused")
	})
}
