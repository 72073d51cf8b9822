package security_test

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/iana/patype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/landfall/landfall/internal/security"
)

const (
	testRealm    = "LANDFALL.TEST"
	testPassword = "s3cret-keytab-password"
)

// writeKeytab writes a keytab with a key for each principal (name or
// name/instance, in testRealm) and returns its path and its key bytes.
func writeKeytab(t *testing.T, dir string, principals ...string) (string, [][]byte) {
	t.Helper()
	kt := keytab.New()
	for _, p := range principals {
		if err := kt.AddEntry(p, testRealm, testPassword, time.Now(), 1, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
			t.Fatal(err)
		}
	}
	b, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, strings.ReplaceAll(principals[0], "/", "_")+".keytab")
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	var keys [][]byte
	for _, e := range kt.Entries {
		keys = append(keys, e.Key.KeyValue)
	}
	return f, keys
}

// writeKrb5Conf writes a krb5.conf whose realm's KDC is kdc (TCP only, so
// that a fake KDC needs one listener).
func writeKrb5Conf(t *testing.T, dir, kdc string) string {
	t.Helper()
	f := filepath.Join(dir, "krb5.conf")
	conf := fmt.Sprintf(`[libdefaults]
 default_realm = %[1]s
 udp_preference_limit = 1
 dns_lookup_kdc = false
 dns_lookup_realm = false

[realms]
 %[1]s = {
  kdc = %[2]s
 }
`, testRealm, kdc)
	if err := os.WriteFile(f, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	f := filepath.Join(dir, name)
	if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// checkNoSecret fails if msg holds the keytab's password or a key, raw or
// in hex.
func checkNoSecret(t *testing.T, msg string, keys [][]byte) {
	t.Helper()
	if strings.Contains(msg, testPassword) {
		t.Errorf("error holds the password: %s", msg)
	}
	for _, k := range keys {
		if strings.Contains(msg, string(k)) || strings.Contains(strings.ToLower(msg), hex.EncodeToString(k)) {
			t.Errorf("error holds key material: %s", msg)
		}
	}
}

// TestKerberosClientRefusesBadFiles: each broken part of the block fails
// before any KDC is asked, naming the key and the file and what to do.
func TestKerberosClientRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	good, keys := writeKeytab(t, dir, "landfall/localhost")
	other, _ := writeKeytab(t, dir, "someone")
	conf := writeKrb5Conf(t, dir, "127.0.0.1:1")
	missing := filepath.Join(dir, "missing")
	garbage := writeFile(t, dir, "garbage.keytab", "not a keytab at all")
	badConf := writeFile(t, dir, "bad.conf", "[libdefaults]\n ticket_lifetime = banana\n")
	noRealm := writeFile(t, dir, "norealm.conf", "[libdefaults]\n dns_lookup_kdc = false\n[realms]\n OTHER.TEST = {\n  kdc = 127.0.0.1:1\n }\n")
	notConf := writeFile(t, dir, "keytab-as-conf", "\x05\x02\x00\x00binary")
	otherRealm := writeFile(t, dir, "other.conf", "[libdefaults]\n default_realm = OTHER.TEST\n[realms]\n OTHER.TEST = {\n  kdc = 127.0.0.1:1\n }\n")

	for _, tc := range []struct {
		name string
		k    security.Kerberos
		want []string
	}{
		{"no principal", security.Kerberos{Keytab: good, Krb5Conf: conf}, []string{"kerberos.principal: missing"}},
		{"no keytab", security.Kerberos{Principal: "landfall/localhost", Krb5Conf: conf}, []string{"kerberos.keytab: missing"}},
		{"missing keytab", security.Kerberos{Principal: "landfall/localhost", Keytab: missing, Krb5Conf: conf}, []string{"kerberos.keytab", missing, "no such file"}},
		{"keytab is a directory", security.Kerberos{Principal: "landfall/localhost", Keytab: dir, Krb5Conf: conf}, []string{"kerberos.keytab", dir, "is a directory"}},
		{"not a keytab", security.Kerberos{Principal: "landfall/localhost", Keytab: garbage, Krb5Conf: conf}, []string{"kerberos.keytab", garbage, "not a keytab"}},
		{"missing krb5.conf", security.Kerberos{Principal: "landfall/localhost", Keytab: good, Krb5Conf: missing}, []string{"kerberos.krb5_conf", missing, "no such file"}},
		{"krb5.conf doesn't parse", security.Kerberos{Principal: "landfall/localhost", Keytab: good, Krb5Conf: badConf}, []string{"kerberos.krb5_conf", badConf, "doesn't parse", "ticket_lifetime"}},
		{"krb5.conf names no realm", security.Kerberos{Principal: "landfall/localhost", Keytab: good, Krb5Conf: notConf}, []string{"kerberos.krb5_conf", notConf, "names no realm"}},
		{"no realm anywhere", security.Kerberos{Principal: "landfall/localhost", Keytab: good, Krb5Conf: noRealm}, []string{"kerberos.principal", "no @REALM", noRealm, "default_realm"}},
		{"realm without kdc", security.Kerberos{Principal: "landfall/localhost@" + testRealm, Keytab: good, Krb5Conf: otherRealm}, []string{"kerberos.krb5_conf", otherRealm, "no [realms] entry for " + testRealm}},
		{"bad principal", security.Kerberos{Principal: "landfall/@" + testRealm, Keytab: good, Krb5Conf: conf}, []string{"kerberos.principal", "want name[/instance]@REALM"}},
		{"principal not in keytab", security.Kerberos{Principal: "landfall/localhost", Keytab: other, Krb5Conf: conf}, []string{"kerberos.keytab", other, "no key for landfall/localhost@" + testRealm, "someone@" + testRealm, "ktadd"}},
		{"wrong realm in keytab", security.Kerberos{Principal: "landfall/localhost@OTHER.TEST", Keytab: good, Krb5Conf: otherRealm}, []string{"kerberos.keytab", "no key for landfall/localhost@OTHER.TEST"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.k.Client("kerberos")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			checkNoSecret(t, err.Error(), keys)
		})
	}

	// And the good block builds a client, with or without the realm.
	for _, p := range []string{"landfall/localhost", "landfall/localhost@" + testRealm} {
		cl, err := security.Kerberos{Principal: p, Keytab: good, Krb5Conf: conf}.Client("kerberos")
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if cl.Credentials.UserName() != "landfall/localhost" || cl.Credentials.Realm() != testRealm {
			t.Errorf("%s: client for %s@%s", p, cl.Credentials.UserName(), cl.Credentials.Realm())
		}
	}
}

// fakeKDC answers every request on TCP with a KRB-ERROR of code.
func fakeKDC(t *testing.T, code int32) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	// The salt and encryption type a real KDC sends with a pre-auth
	// error, which the client needs to encrypt its timestamp.
	info, err := asn1.Marshal(types.ETypeInfo2{{EType: etypeID.AES256_CTS_HMAC_SHA1_96, Salt: testRealm + "landfalllocalhost"}})
	if err != nil {
		t.Fatal(err)
	}
	edata, err := asn1.Marshal(types.MethodData{{PADataType: patype.PA_ETYPE_INFO2, PADataValue: info}})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				var n uint32
				if binary.Read(c, binary.BigEndian, &n) != nil {
					return
				}
				if _, err := io.CopyN(io.Discard, c, int64(n)); err != nil {
					return
				}
				e := messages.NewKRBError(types.NewPrincipalName(nametype.KRB_NT_SRV_INST, "krbtgt/"+testRealm), testRealm, code, "")
				e.EData = edata
				b, err := e.Marshal()
				if err != nil {
					return
				}
				_ = binary.Write(c, binary.BigEndian, uint32(len(b)))
				_, _ = c.Write(b)
			}(c)
		}
	}()
	return ln.Addr().String()
}

// TestKerberosLoginRefused: a KDC that refuses the login fails Login in
// seconds, naming the key, the principal, the keytab and the likely fix,
// and never the key. The real KDC's refusals are in e2e/kerberos_test.go.
func TestKerberosLoginRefused(t *testing.T) {
	dir := t.TempDir()
	kt, keys := writeKeytab(t, dir, "landfall/localhost")
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	for _, tc := range []struct {
		name string
		kdc  string
		want []string
	}{
		{"wrong key", fakeKDC(t, errorcode.KDC_ERR_PREAUTH_FAILED), []string{"KDC_ERR_PREAUTH_FAILED", "not the principal's current key"}},
		{"unknown principal", fakeKDC(t, errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN), []string{"KDC_ERR_C_PRINCIPAL_UNKNOWN", "addprinc"}},
		{"no KDC", closedAddr, []string{"not reachable"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := writeKrb5Conf(t, t.TempDir(), tc.kdc)
			k := security.Kerberos{Principal: "landfall/localhost", Keytab: kt, Krb5Conf: conf}
			t0 := time.Now()
			_, err := k.Login("kerberos", 10*time.Second)
			if err == nil {
				t.Fatal("login succeeded")
			}
			if d := time.Since(t0); d > 10*time.Second {
				t.Errorf("refusal took %v", d)
			}
			for _, w := range append([]string{"kerberos: login of landfall/localhost", kt}, tc.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			checkNoSecret(t, err.Error(), keys)
		})
	}
}

func TestServicePrincipal(t *testing.T) {
	for p, want := range map[string]string{"nn/_HOST@EXAMPLE.COM": "nn/_HOST", "nn/nn1.example.com": "nn/nn1.example.com", "hive/_HOST@R": "hive/_HOST"} {
		got, err := security.ServicePrincipal("warehouse.namenode_principal", p)
		if err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", p, got, err, want)
		}
	}
	for _, p := range []string{"nn", "nn@EXAMPLE.COM", "nn/", "/host", "nn/a/b@R", "nn/host@R@S", "nn/ho st"} {
		if _, err := security.ServicePrincipal("warehouse.namenode_principal", p); err == nil || !strings.Contains(err.Error(), "warehouse.namenode_principal") {
			t.Errorf("%s: %v", p, err)
		}
	}
}
