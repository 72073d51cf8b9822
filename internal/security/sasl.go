package security

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	krb "github.com/jcmturner/gokrb5/v8/client"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/kerberos"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// SASL is a Kafka client's `sasl:` block (kafka.sasl, hive.kafka.sasl).
// Empty mechanism is off.
type SASL struct {
	// Mechanism is PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER or
	// GSSAPI (Kerberos, with the principal and keytab of the top-level
	// kerberos block).
	Mechanism string `yaml:"mechanism"`
	// Username for PLAIN and SCRAM.
	Username string `yaml:"username"`
	// PasswordFile holds the password (PLAIN, SCRAM); PasswordEnv names an
	// environment variable that holds it instead. The file is read again
	// at every authentication, so a rotated password needs no restart.
	PasswordFile string `yaml:"password_file"`
	PasswordEnv  string `yaml:"password_env"`
	// TokenFile holds the OAUTHBEARER token, read again at every
	// authentication: whatever refreshes the token rewrites the file.
	TokenFile string `yaml:"token_file"`
	// ServiceName is, for GSSAPI, the brokers' Kerberos service name (their
	// sasl.kerberos.service.name, default kafka): landfall asks the KDC
	// for a ticket to ServiceName/<broker host>.
	ServiceName string `yaml:"service_name"`
}

// DefaultKafkaServiceName is sasl.service_name when it is not set.
const DefaultKafkaServiceName = "kafka"

// mechanisms lists the accepted mechanisms for messages.
const mechanisms = "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER or GSSAPI"

// Mechanism names accepted in sasl.mechanism.
const (
	MechPlain       = "PLAIN"
	MechScram256    = "SCRAM-SHA-256"
	MechScram512    = "SCRAM-SHA-512"
	MechOAuthBearer = "OAUTHBEARER"
	MechGSSAPI      = "GSSAPI"
)

// On says whether the block asks for SASL.
func (s SASL) On() bool { return s.Mechanism != "" }

// Check checks the block (the password or token readable and not
// empty) without building anything; key is the block's full name
// (kafka.sasl). kerberos says whether the top-level kerberos block is
// set: GSSAPI takes its principal and keytab from there.
func (s SASL) Check(key string, kerberos bool) error {
	if !s.On() {
		if s.Username != "" || s.PasswordFile != "" || s.PasswordEnv != "" || s.TokenFile != "" || s.ServiceName != "" {
			return fmt.Errorf("%s.mechanism: missing: credentials are set; name the mechanism (%s)", key, mechanisms)
		}
		return nil
	}
	pwKey, envKey := key+".password_file", key+".password_env"
	if s.ServiceName != "" && s.Mechanism != MechGSSAPI {
		return fmt.Errorf("%s.service_name: only for GSSAPI; remove it or set %s.mechanism: GSSAPI", key, key)
	}
	switch s.Mechanism {
	case MechPlain, MechScram256, MechScram512:
		if s.Username == "" {
			return fmt.Errorf("%s.username: missing: %s %s needs a user name", key, key+".mechanism", s.Mechanism)
		}
		if s.TokenFile != "" {
			return fmt.Errorf("%s.token_file: only for OAUTHBEARER; %s %s takes %s", key, key+".mechanism", s.Mechanism, pwKey)
		}
		_, err := ReadSecret(pwKey, s.PasswordFile, envKey, s.PasswordEnv)
		return err
	case MechOAuthBearer:
		if s.PasswordFile != "" || s.PasswordEnv != "" || s.Username != "" {
			return fmt.Errorf("%s: OAUTHBEARER takes %s.token_file, not a user name or password", key, key)
		}
		if s.TokenFile == "" {
			return fmt.Errorf("%s.token_file: missing: OAUTHBEARER needs the file that holds the token", key)
		}
		_, err := ReadSecret(key+".token_file", s.TokenFile, "", "")
		return err
	case MechGSSAPI:
		if s.Username != "" || s.PasswordFile != "" || s.PasswordEnv != "" || s.TokenFile != "" {
			return fmt.Errorf("%s: GSSAPI takes no user name, password or token: its principal and keytab are kerberos.principal and kerberos.keytab; remove %s.username, password_file, password_env and token_file", key, key)
		}
		if !kerberos {
			return fmt.Errorf("%s.mechanism: GSSAPI needs the top-level kerberos block (missing or not usable): set kerberos.principal, kerberos.keytab and kerberos.krb5_conf", key)
		}
		if n := s.ServiceName; n != "" && strings.ContainsAny(n, "/@ \t\n") {
			return fmt.Errorf("%s.service_name: %q: want the brokers' sasl.kerberos.service.name alone (e.g. kafka), without /host or @REALM", key, n)
		}
		return nil
	default:
		return fmt.Errorf("%s.mechanism: %q: unknown; want %s", key, s.Mechanism, mechanisms)
	}
}

// Build checks the block (Check) and returns franz-go's mechanism for it;
// nil, nil when it is off. kc is the client of the top-level kerberos
// block, nil without one; GSSAPI authenticates every connection with it.
// kc must be one that logs itself in again when its tickets run out
// (Kerberos.Login's): a broker connection opened, or re-authenticated,
// months after the start asks the KDC for a new broker ticket then.
func (s SASL) Build(key string, kc *krb.Client) (sasl.Mechanism, error) {
	if err := s.Check(key, kc != nil); err != nil || !s.On() {
		return nil, err
	}
	pwKey, envKey := key+".password_file", key+".password_env"
	// Each authentication reads the secret again (rotation without a
	// restart); a file that became unreadable fails that connection with
	// the same key-naming error.
	password := func() (string, error) {
		p, err := ReadSecret(pwKey, s.PasswordFile, envKey, s.PasswordEnv)
		return p.Reveal(), err
	}
	switch s.Mechanism {
	case MechPlain:
		return plain.Plain(func(context.Context) (plain.Auth, error) {
			p, err := password()
			return plain.Auth{User: s.Username, Pass: p}, err
		}), nil
	case MechScram256, MechScram512:
		f := func(context.Context) (scram.Auth, error) {
			p, err := password()
			return scram.Auth{User: s.Username, Pass: p}, err
		}
		if s.Mechanism == MechScram256 {
			return scram.Sha256(f), nil
		}
		return scram.Sha512(f), nil
	case MechGSSAPI:
		// AsMechanism keeps the client across connections and never
		// destroys it: it is shared with HDFS, and its owner destroys it.
		// gokrb5 logs in again from the keytab when the ticket-granting
		// ticket has run out, before asking for the broker's ticket.
		return kerberos.Auth{Client: kc, Service: s.KafkaServiceName()}.AsMechanism(), nil
	default:
		return oauth.Oauth(func(context.Context) (oauth.Auth, error) {
			t, err := ReadSecret(key+".token_file", s.TokenFile, "", "")
			return oauth.Auth{Token: t.Reveal()}, err
		}), nil
	}
}

// KafkaServiceName is service_name, or kafka when it is not set.
func (s SASL) KafkaServiceName() string {
	if s.ServiceName == "" {
		return DefaultKafkaServiceName
	}
	return s.ServiceName
}

// CheckKafka checks a Kafka client's tls and sasl blocks under key (kafka,
// hive.kafka) as Kafka would use them, without building a client: for
// configuration validation, before any Kerberos login. kerberos says
// whether the top-level kerberos block is set.
func CheckKafka(key string, t TLS, s SASL, kerberos bool, now time.Time) error {
	if _, err := t.Client(key+".tls", now, nil); err != nil {
		return err
	}
	return s.Check(key+".sasl", kerberos)
}

// Kafka returns the franz-go options for a Kafka client's tls and sasl
// blocks under key (kafka, hive.kafka), checking both now. kc is the
// logged-in client of the top-level kerberos block (nil without one), for
// GSSAPI.
func Kafka(key string, t TLS, s SASL, kc *krb.Client, now time.Time, log *slog.Logger) ([]kgo.Opt, error) {
	var opts []kgo.Opt
	tc, err := t.Client(key+".tls", now, log)
	if err != nil {
		return nil, err
	}
	if tc != nil {
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	m, err := s.Build(key+".sasl", kc)
	if err != nil {
		return nil, err
	}
	if m != nil {
		if tc == nil && s.Mechanism == MechPlain && log != nil {
			log.Warn("SASL PLAIN without TLS sends the password in the clear; set "+key+".tls", "key", key+".sasl.mechanism")
		}
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}
