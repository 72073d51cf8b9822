package committer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/landfall/landfall/internal/security"
)

// kafkaCheckTimeout bounds CheckKafka: long enough for a TLS handshake and
// a SASL exchange with a loaded broker, short enough that a bad
// credential fails the start in seconds. A TLS client on a plaintext
// port gets no answer at all, so that one ends here as "not answering".
const kafkaCheckTimeout = 15 * time.Second

// CheckKafka makes one request to the brokers with the client's TLS and
// SASL options (key is the block they came from: kafka, hive.kafka) and
// fails when the brokers refuse them: a wrong password, an untrusted or
// misnamed server certificate, a client certificate the broker rejects,
// a Kerberos service name the KDC doesn't know. sasl is the block the
// options were built from; it picks the keys the errors name. Run it
// before taking ownership, so that a bad
// credential stops the start before anything is written. A broker that
// doesn't answer is not refusing: that is logged and left to the
// consumer's own retries, as without security.
func CheckKafka(ctx context.Context, key string, sasl security.SASL, brokers []string, log *slog.Logger, opts ...kgo.Opt) error {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, opts...)...)
	if err != nil {
		return fmt.Errorf("%s: kafka client: %w", key, err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, kafkaCheckTimeout)
	defer cancel()
	// A metadata request, not Ping: Ping's ApiVersions is answered before
	// SASL authenticates, so it would pass a wrong password.
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{}
	_, err = req.RequestWith(ctx, cl)
	if err == nil {
		return nil
	}
	if cerr := classifyKafkaAuth(key, sasl, err); cerr != nil {
		return cerr
	}
	if log != nil {
		log.Warn("kafka brokers not answering at start; the consumer keeps trying", "key", key+".brokers", "brokers", brokers, "err", err)
	}
	return nil
}

// classifyKafkaAuth turns an error of a broker refusing the client's
// credentials into one that names the key to fix; nil for other errors.
func classifyKafkaAuth(key string, sasl security.SASL, err error) error {
	var (
		unknownCA *x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
		alert     tls.AlertError
	)
	if sasl.Mechanism == security.MechGSSAPI {
		if cerr := classifyGSSAPI(key, sasl, err); cerr != nil {
			return cerr
		}
	}
	switch {
	case errors.Is(err, kerr.SaslAuthenticationFailed):
		return fmt.Errorf("%s.sasl: the brokers refused the credentials (%v); check %s.sasl.username and %s.sasl.password_file", key, err, key, key)
	case errors.Is(err, kerr.UnsupportedSaslMechanism), errors.Is(err, kerr.IllegalSaslState):
		return fmt.Errorf("%s.sasl.mechanism: the brokers don't accept it (%v); use a mechanism the listener enables", key, err)
	case errors.As(err, &hostname):
		return fmt.Errorf("%s.tls.server_name: the broker's certificate is not for this name (%v); set server_name to a name the certificate carries", key, err)
	case errors.As(err, &unknownCA), errors.As(err, &verify), errors.As(err, &invalid):
		return fmt.Errorf("%s.tls.ca_file: the broker's certificate is not trusted (%v); name the CA that signed the brokers' certificates", key, err)
	case errors.As(err, &alert), strings.Contains(err.Error(), "remote error: tls:"):
		return fmt.Errorf("%s.tls.cert_file: the broker refused the TLS handshake (%v); check the client certificate and that the broker trusts its CA", key, err)
	}
	return nil
}

// classifyGSSAPI names the keys to fix when a GSSAPI authentication fails:
// gokrb5's errors carry the KDC's error names, and a broker that can't
// accept the ticket answers SaslAuthenticationFailed. nil for other
// errors.
func classifyGSSAPI(key string, sasl security.SASL, err error) error {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	switch {
	case strings.Contains(msg, "KDC_ERR_S_PRINCIPAL_UNKNOWN"):
		return fmt.Errorf("%s.sasl.service_name: the KDC knows no broker principal %s/<broker host> (%s); set it to the brokers' sasl.kerberos.service.name, and list the brokers by the host names in their principals", key, sasl.KafkaServiceName(), msg)
	case errors.Is(err, kerr.SaslAuthenticationFailed):
		return fmt.Errorf("%s.sasl: the brokers refused landfall's Kerberos ticket (%s); check that %s.sasl.service_name (%s) is the brokers' sasl.kerberos.service.name and that the brokers' keytab is current", key, msg, key, sasl.KafkaServiceName())
	case strings.Contains(msg, "KDC_ERR"), strings.Contains(msg, "could not get valid TGT"):
		return fmt.Errorf("%s.sasl: GSSAPI: the KDC refused a ticket for the brokers (%s); check kerberos.principal and kerberos.keytab", key, msg)
	}
	return nil
}
