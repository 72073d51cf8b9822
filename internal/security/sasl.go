package security

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// SASL is a Kafka client's `sasl:` block (kafka.sasl, hive.kafka.sasl).
// Empty mechanism is off.
type SASL struct {
	// Mechanism is PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER.
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
}

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

// Build checks the block (the password or token readable and not empty)
// and returns franz-go's mechanism for it; nil, nil when it is off. key
// is the block's full name (kafka.sasl).
func (s SASL) Build(key string) (sasl.Mechanism, error) {
	if !s.On() {
		if s.Username != "" || s.PasswordFile != "" || s.PasswordEnv != "" || s.TokenFile != "" {
			return nil, fmt.Errorf("%s.mechanism: missing: credentials are set; name the mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER)", key)
		}
		return nil, nil
	}
	pwKey, envKey := key+".password_file", key+".password_env"
	switch s.Mechanism {
	case MechPlain, MechScram256, MechScram512:
		if s.Username == "" {
			return nil, fmt.Errorf("%s.username: missing: %s %s needs a user name", key, key+".mechanism", s.Mechanism)
		}
		if s.TokenFile != "" {
			return nil, fmt.Errorf("%s.token_file: only for OAUTHBEARER; %s %s takes %s", key, key+".mechanism", s.Mechanism, pwKey)
		}
		if _, err := ReadSecret(pwKey, s.PasswordFile, envKey, s.PasswordEnv); err != nil {
			return nil, err
		}
	case MechOAuthBearer:
		if s.PasswordFile != "" || s.PasswordEnv != "" || s.Username != "" {
			return nil, fmt.Errorf("%s: OAUTHBEARER takes %s.token_file, not a user name or password", key, key)
		}
		if s.TokenFile == "" {
			return nil, fmt.Errorf("%s.token_file: missing: OAUTHBEARER needs the file that holds the token", key)
		}
		if _, err := ReadSecret(key+".token_file", s.TokenFile, "", ""); err != nil {
			return nil, err
		}
	case MechGSSAPI:
		return nil, fmt.Errorf("%s.mechanism: GSSAPI (Kerberos) is not supported yet; use SCRAM-SHA-512, SCRAM-SHA-256, PLAIN or OAUTHBEARER", key)
	default:
		return nil, fmt.Errorf("%s.mechanism: %q: unknown; want PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER", key, s.Mechanism)
	}
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
	default:
		return oauth.Oauth(func(context.Context) (oauth.Auth, error) {
			t, err := ReadSecret(key+".token_file", s.TokenFile, "", "")
			return oauth.Auth{Token: t.Reveal()}, err
		}), nil
	}
}

// Kafka returns the franz-go options for a Kafka client's tls and sasl
// blocks under key (kafka, hive.kafka), checking both now.
func Kafka(key string, t TLS, s SASL, now time.Time, log *slog.Logger) ([]kgo.Opt, error) {
	var opts []kgo.Opt
	tc, err := t.Client(key+".tls", now, log)
	if err != nil {
		return nil, err
	}
	if tc != nil {
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	m, err := s.Build(key + ".sasl")
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
