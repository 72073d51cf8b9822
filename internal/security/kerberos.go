package security

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	krb "github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/keytab"
)

// DefaultKrb5Conf is where kerberos.krb5_conf points when it is not set.
const DefaultKrb5Conf = "/etc/krb5.conf"

// Kerberos is a kerberos block: a principal, its keytab and the krb5.conf
// that names the realm's KDCs. The keytab is the only credential: landfall
// never reads a ticket cache, so a process that runs for months logs in
// again from the keytab whenever its ticket runs out (see Login).
type Kerberos struct {
	// Principal is landfall's principal, e.g. landfall/host.example.com@EXAMPLE.COM
	// or landfall@EXAMPLE.COM; without @REALM, krb5.conf's default_realm.
	Principal string `yaml:"principal"`
	// Keytab is the file that holds the principal's keys (ktutil,
	// kadmin's ktadd). Readable only by landfall's user.
	Keytab string `yaml:"keytab"`
	// Krb5Conf is the krb5.conf with the realm's KDCs (default
	// /etc/krb5.conf).
	Krb5Conf string `yaml:"krb5_conf"`
}

// On says whether the block is set at all.
func (k Kerberos) On() bool { return k.Principal != "" || k.Keytab != "" || k.Krb5Conf != "" }

// Client reads the keytab and krb5.conf and builds a client for the
// principal, without talking to the KDC. It fails, naming the key (key is
// the block's name, e.g. "kerberos") and the file, when a file is missing
// or unreadable, krb5.conf doesn't parse, or the keytab holds no key for
// the principal. Errors never hold key material.
func (k Kerberos) Client(key string) (*krb.Client, error) {
	if k.Principal == "" {
		return nil, fmt.Errorf("%s.principal: missing: landfall's Kerberos principal, e.g. landfall/host.example.com@EXAMPLE.COM", key)
	}
	if k.Keytab == "" {
		return nil, fmt.Errorf("%s.keytab: missing: the keytab file with %s's keys", key, k.Principal)
	}
	confFile := k.Krb5Conf
	if confFile == "" {
		confFile = DefaultKrb5Conf
	}
	conf, err := loadKrb5Conf(confFile)
	if err != nil {
		return nil, fmt.Errorf("%s.krb5_conf: %w", key, err)
	}
	name, realm, err := splitPrincipal(k.Principal)
	if err != nil {
		return nil, fmt.Errorf("%s.principal: %w", key, err)
	}
	if realm == "" {
		realm = conf.LibDefaults.DefaultRealm
		if realm == "" {
			return nil, fmt.Errorf("%s.principal: %q has no @REALM and %s sets no default_realm; write the principal as %s@YOUR.REALM", key, k.Principal, confFile, k.Principal)
		}
	}
	if !hasRealm(conf, realm) && !conf.LibDefaults.DNSLookupKDC {
		return nil, fmt.Errorf("%s.krb5_conf: %s has no [realms] entry for %s (and dns_lookup_kdc is off); add %s = { kdc = … }", key, confFile, realm, realm)
	}
	kt, err := loadKeytab(k.Keytab)
	if err != nil {
		return nil, fmt.Errorf("%s.keytab: %w", key, err)
	}
	if !keytabHas(kt, name, realm) {
		return nil, fmt.Errorf("%s.keytab: %s holds no key for %s@%s (it has %s); export the principal's keys into it (kadmin: ktadd -k %s %s@%s)",
			key, k.Keytab, name, realm, keytabPrincipals(kt), k.Keytab, name, realm)
	}
	return krb.NewWithKeytab(name, realm, kt, conf, krb.DisablePAFXFAST(true)), nil
}

// Login builds the client (Client) and logs in at the KDC, waiting at most
// timeout, so that a wrong key, an unknown principal or an unreachable KDC
// fails the start in seconds, naming the key.
//
// The client renews itself for as long as the process runs: gokrb5 renews
// the ticket-granting ticket before it ends while the KDC allows renewal,
// and past its renew-till logs in again from the keytab; a request that
// finds the ticket expired (say the KDC was down at renewal time) logs in
// again first. Callers only Destroy the client when they are done.
func (k Kerberos) Login(key string, timeout time.Duration) (*krb.Client, error) {
	cl, err := k.Client(key)
	if err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cl.Login() }()
	select {
	case err = <-done:
	case <-time.After(timeout):
		// The login goroutine ends with gokrb5's own KDC timeouts.
		return nil, fmt.Errorf("%s: no answer from the KDC of %s within %v; check krb5_conf's kdc entries and that the KDC is reachable", key, cl.Credentials.Realm(), timeout)
	}
	if err != nil {
		cl.Destroy()
		return nil, fmt.Errorf("%s: login of %s with the keys in %s refused: %s; %s", key, k.Principal, k.Keytab, oneLine(err), loginHint(err))
	}
	return cl, nil
}

// loginHint says what to fix for the KDC errors operators meet.
func loginHint(err error) string {
	s := err.Error()
	switch {
	case strings.Contains(s, "KDC_ERR_PREAUTH_FAILED"), strings.Contains(s, "integrity verification"), strings.Contains(s, "Decrypting_Error"):
		return "the keytab's key is not the principal's current key (re-export it: kadmin ktadd changes the key, ktadd -norandkey keeps it)"
	case strings.Contains(s, "KDC_ERR_C_PRINCIPAL_UNKNOWN"):
		return "the KDC doesn't know the principal; create it (kadmin addprinc) or fix kerberos.principal"
	case strings.Contains(s, "KDC_ERR_CLIENT_REVOKED"):
		return "the principal is locked or expired at the KDC"
	case strings.Contains(s, "KDC_ERR_ETYPE_NOSUPP"):
		return "the keytab's encryption types are not ones the KDC accepts for the principal"
	case strings.Contains(s, "networking"), strings.Contains(s, "connection"), strings.Contains(s, "dial"):
		return "the KDC is not reachable; check krb5_conf's kdc entries"
	}
	return "check the principal, its keytab and the KDC"
}

// oneLine keeps a gokrb5 error (they nest with " < ") on one line.
func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }

func loadKrb5Conf(file string) (*config.Config, error) {
	if _, err := os.Stat(file); err != nil {
		return nil, fmt.Errorf("%w; point it at the cluster's krb5.conf", pathErr(err))
	}
	conf, err := config.Load(file)
	var unsupported config.UnsupportedDirective
	if err != nil && !errors.As(err, &unsupported) {
		return nil, fmt.Errorf("%s: doesn't parse: %v", file, err)
	}
	if conf == nil {
		return nil, fmt.Errorf("%s: doesn't parse", file)
	}
	// gokrb5 skips what it doesn't understand, so a file of anything
	// "parses"; one that names no realm at all is not a krb5.conf.
	if conf.LibDefaults.DefaultRealm == "" && len(conf.Realms) == 0 {
		return nil, fmt.Errorf("%s: names no realm (neither default_realm in [libdefaults] nor a [realms] entry); point it at the cluster's krb5.conf", file)
	}
	return conf, nil
}

func loadKeytab(file string) (*keytab.Keytab, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%w; make the keytab readable by landfall's user", pathErr(err))
	}
	kt := keytab.New()
	if err := kt.Unmarshal(b); err != nil {
		// gokrb5's messages say nothing of the bytes themselves.
		return nil, fmt.Errorf("%s: not a keytab: %v", file, err)
	}
	if len(kt.Entries) == 0 {
		return nil, fmt.Errorf("%s: the keytab holds no keys", file)
	}
	return kt, nil
}

// splitPrincipal splits name[/instance][@REALM] into its name and realm.
func splitPrincipal(p string) (name, realm string, err error) {
	name, realm, _ = strings.Cut(p, "@")
	if name == "" || strings.Contains(realm, "@") || strings.ContainsAny(p, " \t\n") || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") {
		return "", "", fmt.Errorf("%q: want name[/instance]@REALM, e.g. landfall/host.example.com@EXAMPLE.COM", p)
	}
	return name, realm, nil
}

func hasRealm(conf *config.Config, realm string) bool {
	for _, r := range conf.Realms {
		if r.Realm == realm && len(r.KDC) > 0 {
			return true
		}
	}
	return false
}

func keytabHas(kt *keytab.Keytab, name, realm string) bool {
	for _, e := range kt.Entries {
		if e.Principal.Realm == realm && strings.Join(e.Principal.Components, "/") == name {
			return true
		}
	}
	return false
}

// keytabPrincipals lists the keytab's principals (names only, never keys).
func keytabPrincipals(kt *keytab.Keytab) string {
	seen := map[string]bool{}
	var out []string
	for _, e := range kt.Entries {
		p := strings.Join(e.Principal.Components, "/") + "@" + e.Principal.Realm
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return strings.Join(out, ", ")
}

// ServicePrincipal checks a service principal such as nn/_HOST@EXAMPLE.COM
// (key names it in errors) and returns its service/host part, which is
// what gokrb5 asks tickets for; _HOST stays for the caller to replace with
// the server's host name.
func ServicePrincipal(key, p string) (string, error) {
	name, _, err := splitPrincipal(p)
	if err == nil {
		svc, host, ok := strings.Cut(name, "/")
		if ok && svc != "" && host != "" && !strings.Contains(host, "/") {
			return name, nil
		}
	}
	return "", fmt.Errorf("%s: %q: want service/host@REALM, e.g. nn/_HOST@EXAMPLE.COM (_HOST is the server's host name)", key, p)
}
