//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/colinmarc/hdfs/v2"
	krb "github.com/jcmturner/gokrb5/v8/client"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/landfall/landfall/internal/security"
	"github.com/landfall/landfall/writer/fsys"
)

// krbCluster is what hdfs-krb.sh exported: an MIT KDC, a Kerberized
// NameNode and DataNode, and the keytabs made at its start.
type krbCluster struct {
	hdfs, realm, krb5Conf, keytabs string
}

func kerberosServices(t *testing.T) krbCluster {
	t.Helper()
	return krbCluster{
		hdfs: endpoint(t, "LANDFALL_E2E_KRB_HDFS"), realm: endpoint(t, "LANDFALL_E2E_KRB_REALM"),
		krb5Conf: endpoint(t, "LANDFALL_E2E_KRB5_CONF"), keytabs: endpoint(t, "LANDFALL_E2E_KRB_KEYTABS"),
	}
}

func (kc krbCluster) keytab(name string) string { return filepath.Join(kc.keytabs, name+".keytab") }

// yaml is the kerberos block and the warehouse's Kerberos keys, as
// newTable puts them after warehouse.uri.
func (kc krbCluster) yaml() string {
	return fmt.Sprintf("  namenode_principal: nn/_HOST@%[1]s\n  data_transfer_protection: authentication\nkerberos:\n  principal: landfall/localhost@%[1]s\n  keytab: %[2]s\n  krb5_conf: %[3]s\n",
		kc.realm, kc.keytab("landfall"), kc.krb5Conf)
}

// login is a client for principal from the keytab file name.
func (kc krbCluster) login(t *testing.T, principal, keytab string) *krb.Client {
	t.Helper()
	cl, err := security.Kerberos{Principal: principal + "@" + kc.realm, Keytab: kc.keytab(keytab), Krb5Conf: kc.krb5Conf}.Login("kerberos", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Destroy)
	return cl
}

// newKerberosHDFS makes root on the Kerberized HDFS as the superuser
// nn/localhost, gives it to landfall, and returns the superuser's view of
// it for reading back.
func newKerberosHDFS(t *testing.T, root string) *fsys.HDFS {
	t.Helper()
	kc := kerberosServices(t)
	nn := kc.login(t, "nn/localhost", "hdfs")
	cl, err := hdfs.NewClient(hdfs.ClientOptions{Addresses: []string{kc.hdfs}, KerberosClient: nn,
		KerberosServicePrincipleName: "nn/_HOST", DataTransferProtection: "authentication"})
	if err != nil {
		t.Fatalf("connect to the Kerberized hdfs: %v", err)
	}
	defer cl.Close()
	if err := cl.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := cl.Chown(root, "landfall", "supergroup"); err != nil {
		t.Fatal(err)
	}
	// The Kerberized metastore makes the test databases' directories
	// here, as hive (hms_krb_test.go).
	if err := cl.MkdirAll("/landfall-e2e/hive", 0o777); err != nil {
		t.Fatal(err)
	}
	if err := cl.Chmod("/landfall-e2e/hive", 0o777); err != nil {
		t.Fatal(err)
	}
	h, err := fsys.NewHDFS(fsys.HDFSOptions{Addresses: []string{kc.hdfs}, Root: root, RecoverTimeout: 2 * time.Minute,
		KerberosClient: nn, KerberosServicePrincipalName: "nn/_HOST", DataTransferProtection: "authentication"})
	if err != nil {
		t.Fatalf("connect to the Kerberized hdfs: %v", err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("close hdfs: %v", err)
		}
	})
	return h
}

// asRequests counts the tickets the KDC issued to landfall/localhost's
// logins (AS exchanges) so far.
func (kc krbCluster) asRequests(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(filepath.Dir(kc.keytabs), "..", "hdfs-krb-kdc.log"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`AS_REQ .*ISSUE: .*landfall/localhost@` + regexp.QuoteMeta(kc.realm) + ` for krbtgt/`)
	return len(re.FindAll(b, -1))
}

// TestKerberosLandsExactlyOnce: landfall lands every record exactly once
// in the Kerberized HDFS (NameNode over Kerberos, SASL to the DataNode)
// as landfall/localhost, whose tickets live 90 seconds and can't be
// renewed. The run outlasts its first ticket and then loses the NameNode
// (a restart), so the reconnect needs a new ticket: the process logs in
// again from the keytab by itself — one "kerberos login" at start, more
// AS exchanges at the KDC — and the records still land exactly once.
func TestKerberosLandsExactlyOnce(t *testing.T) {
	kc := kerberosServices(t)
	tb := newTable(t, 3, tableConfig{kerberos: true})
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	before := kc.asRequests(t)
	a := tb.start("a")
	a.waitLog(t, regexp.MustCompile(`msg=consuming`), time.Minute)
	et := time.Now().Add(-3 * time.Hour).Truncate(time.Hour)
	var err error
	t0 := time.Now()
	// Records for longer than the first ticket lives.
	for time.Since(t0) < 100*time.Second {
		if et, err = tb.produce(ctx, 200, et, time.Second); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
	}
	out, err := exec.CommandContext(ctx, "bash", filepath.Join("services", "hdfs-krb.sh"), "restart-namenode").CombinedOutput()
	if err != nil {
		t.Fatalf("restart the namenode: %v\n%s", err, out)
	}
	for range 5 {
		if et, err = tb.produce(ctx, 200, et, time.Second); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
	}
	tb.waitDrained(3 * time.Minute)
	if a.exited() {
		t.Fatalf("landfall exited:\n%s", logTail(a.log, 30))
	}
	a.stop(t)
	tb.verify(nil)

	log, err := os.ReadFile(a.log)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log), "msg=\"kerberos login\""); n != 1 {
		t.Errorf("%d kerberos login lines; want the one at start", n)
	}
	if n := kc.asRequests(t) - before; n < 2 {
		t.Errorf("the KDC issued landfall/localhost %d tickets during the run; want the start's and at least one more after the first expired", n)
	} else {
		t.Logf("the KDC issued landfall/localhost %d tickets during one run of %v", n, time.Since(t0).Round(time.Second))
	}
}

// krbRefusedStart starts landfall on the Kerberized table with its config
// edited by edit, and requires it to exit with an error within 30
// seconds, logging want, having written nothing to the warehouse and no
// checkpoint to etcd; with beforeEtcd, no key to etcd at all (the refusal
// comes before landfall asks etcd for ownership).
func krbRefusedStart(t *testing.T, edit func(kc krbCluster, cfg string) string, want string, beforeEtcd bool) {
	krbRefusedStartOf(t, tableConfig{kerberos: true}, edit, want, beforeEtcd)
}

// krbRefusedStartOf is krbRefusedStart on a table of tc.
func krbRefusedStartOf(t *testing.T, tc tableConfig, edit func(kc krbCluster, cfg string) string, want string, beforeEtcd bool) {
	kc := kerberosServices(t)
	tb := newTable(t, 1, tc)
	cfg, err := os.ReadFile(tb.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	edited := edit(kc, string(cfg))
	if edited == string(cfg) {
		t.Fatal("the edit changed nothing in the config")
	}
	if err := os.WriteFile(tb.cfgPath, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	l := tb.start("refused")
	select {
	case <-l.done:
	case <-time.After(time.Minute):
		l.kill9()
		t.Fatalf("landfall still running a minute after a start that must be refused:\n%s", logTail(l.log, 20))
	}
	took := time.Since(t0)
	log, _ := os.ReadFile(l.log)
	if l.err == nil {
		t.Fatalf("landfall exited 0; want status 1:\n%s", log)
	}
	if !strings.Contains(string(log), want) {
		t.Fatalf("the log does not say %q:\n%s", want, log)
	}
	if took > 30*time.Second {
		t.Errorf("refused after %v; want within seconds", took)
	}
	files, err := listAll(tb, "")
	if err != nil {
		t.Fatalf("list the warehouse: %v", err)
	}
	if len(files) > 0 {
		t.Errorf("a refused start wrote to the warehouse: %v", files)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := tb.etcd.Get(ctx, "/landfall/"+tb.logid+"/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if beforeEtcd && len(resp.Kvs) > 0 {
		t.Errorf("a refused start wrote %d keys to etcd, e.g. %s", len(resp.Kvs), resp.Kvs[0].Key)
	}
	if cp, err := tb.checkpoint(); err != nil || cp != nil {
		t.Errorf("a refused start left a checkpoint in etcd: %+v, %v", cp, err)
	}
	t.Logf("refused in %v: %s", took.Round(time.Millisecond), lastLine(l.log))
}

// TestKerberosStaleKeytab: a keytab whose key the KDC changed since (a
// second ktadd) fails the login at start.
func TestKerberosStaleKeytab(t *testing.T) {
	krbRefusedStart(t, func(kc krbCluster, cfg string) string {
		return strings.Replace(cfg, "principal: landfall/localhost@"+kc.realm+"\n  keytab: "+kc.keytab("landfall"),
			"principal: landfall-stale/localhost@"+kc.realm+"\n  keytab: "+kc.keytab("stale"), 1)
	}, "kerberos: login of landfall-stale/localhost@LANDFALL.TEST with the keys in "+kerberosServices(t).keytab("stale")+" refused", true)
}

// TestKerberosPrincipalWithoutRights: a principal the KDC and the
// NameNode accept but that may not write the table's directory.
func TestKerberosPrincipalWithoutRights(t *testing.T) {
	krbRefusedStart(t, func(kc krbCluster, cfg string) string {
		return strings.Replace(cfg, "principal: landfall/localhost@"+kc.realm+"\n  keytab: "+kc.keytab("landfall"),
			"principal: landfall-norights/localhost@"+kc.realm+"\n  keytab: "+kc.keytab("norights"), 1)
	}, "permission denied; give landfall's user (with kerberos, kerberos.principal as the cluster maps it) write permission on", false)
}
