//go:build e2e

package e2e

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// metastoreTicketLogins counts the distinct logins (TGT auth times) from
// which landfall/localhost asked the KDC for metastore tickets in its log
// from offset on.
func (kc krbCluster) metastoreTicketLogins(t *testing.T, offset int) int {
	t.Helper()
	re := regexp.MustCompile(`TGS_REQ .*ISSUE: authtime (\d+),.* landfall/localhost@` + regexp.QuoteMeta(kc.realm) + ` for hive/localhost@`)
	seen := map[string]bool{}
	for _, m := range re.FindAllSubmatch(kc.kdcLog(t)[offset:], -1) {
		seen[string(m[1])] = true
	}
	return len(seen)
}

// TestKerberosMetastore: landfall commits partitions to the Kerberized
// metastore (SASL GSSAPI, hms-krb.sh) and the Kerberized HDFS as
// landfall/localhost, whose tickets live 90 seconds and can't be renewed.
// The run outlasts the first ticket and then restarts the metastore, so
// the new connections need metastore tickets from a new login, which the
// process makes by itself from the keytab: every record lands exactly
// once, every partition with _SUCCESS is in the metastore (and no other),
// and partitions keep being registered after the restart.
func TestKerberosMetastore(t *testing.T) {
	kc := kerberosServices(t)
	// A long lease: four JVMs share the two cores here.
	tb := newTable(t, 3, tableConfig{kerberos: true, metastore: true, leaseTTL: 10 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	logFrom := len(kc.kdcLog(t))
	watch := tb.watchSuccess(ctx, 2*time.Second)
	t0 := time.Now()
	a := tb.start("a")
	defer func() {
		if !a.exited() {
			a.kill9()
		}
	}()
	a.waitLog(t, consumingRE, time.Minute)
	// ~100 records/s, event time ~1000× the wall clock: an hour per ~4 s.
	h0 := time.Now().UTC().Truncate(time.Hour).Add(-48 * time.Hour)
	prod := tb.startProducer(ctx, h0, 20, 10*time.Second, 200*time.Millisecond)
	tb.waitCommitted(t, []string{hourDir(h0), hourDir(h0.Add(time.Hour))}, false, 2*time.Minute)

	// Past the first ticket's 90 s, the pooled connections still work (a
	// negotiated connection needs no ticket); new ones need a new login.
	sleepUntil(t0.Add(100 * time.Second))
	before, err := tb.hivePartitions()
	if err != nil {
		t.Fatal(err)
	}
	service(t, "hms-krb", "restart")
	time.Sleep(20 * time.Second)
	if n, err := prod.finish(); n > 0 {
		t.Fatalf("%d produce calls failed, the last: %v", n, err)
	}
	tb.waitDrained(3 * time.Minute)
	tb.waitCommitted(t, nil, true, 3*time.Minute)
	if a.exited() {
		t.Fatalf("landfall exited:\n%s", logTail(a.log, 30))
	}
	a.stop(t)
	tb.verify(watch)

	after, err := tb.hivePartitions()
	if err != nil {
		t.Fatal(err)
	}
	if len(after) <= len(before) {
		t.Errorf("%d partitions in the metastore before its restart, %d after: none registered over a new connection", len(before), len(after))
	}
	log, err := os.ReadFile(a.log)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log), "msg=\"kerberos login\""); n != 1 {
		t.Errorf("%d kerberos login lines; want the one at start", n)
	}
	logins := kc.metastoreTicketLogins(t, logFrom)
	if logins < 2 {
		t.Errorf("landfall/localhost asked for metastore tickets from %d logins; want the start's and at least one after the first ticket expired", logins)
	}
	t.Logf("%d partitions registered (%d before the metastore restart), metastore tickets from %d logins in %v",
		len(after), len(before), logins, time.Since(t0).Round(time.Second))
}

// TestKerberosMetastoreUnknownPrincipal: a metastore principal the KDC
// doesn't know fails the start in seconds, naming the key, and nothing is
// written.
func TestKerberosMetastoreUnknownPrincipal(t *testing.T) {
	krbRefusedStartOf(t, tableConfig{kerberos: true, metastore: true}, func(kc krbCluster, cfg string) string {
		return strings.Replace(cfg, "    call_timeout: 30s\n", "    call_timeout: 30s\n    kerberos_principal: hive/nosuchhost@"+kc.realm+"\n", 1)
	}, "hive.metastore.kerberos_principal: the KDC knows no metastore principal hive/nosuchhost", false)
}

// TestKerberosMetastoreWrongPrincipal: a principal the KDC knows but that
// is not the metastore's (its ticket doesn't decrypt with the metastore's
// key): the metastore refuses the negotiation, and the start fails naming
// the key.
func TestKerberosMetastoreWrongPrincipal(t *testing.T) {
	krbRefusedStartOf(t, tableConfig{kerberos: true, metastore: true}, func(kc krbCluster, cfg string) string {
		return strings.Replace(cfg, "    call_timeout: 30s\n", "    call_timeout: 30s\n    kerberos_principal: nn/_HOST@"+kc.realm+"\n", 1)
	}, "hive.metastore.kerberos_principal: sasl GSSAPI to thrift://localhost:", false)
}
