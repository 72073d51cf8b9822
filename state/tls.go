package state

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"
)

// ErrUntrusted means etcd's server certificate failed verification: the
// configured CA did not sign it, or it is not for the name dialled. The
// etcd client only reports such a failure as a timeout, after retrying
// for as long as it is let, so CheckTLS asks first.
var ErrUntrusted = errors.New("state: etcd's certificate is not trusted")

// CheckTLS makes a TLS handshake with each https endpoint until one
// succeeds, and fails with ErrUntrusted when one's certificate doesn't
// verify with c. An endpoint that doesn't answer is not a verdict: that is
// Open's to wait for (WithConnectTimeout).
func CheckTLS(ctx context.Context, endpoints []string, c *tls.Config) error {
	if c == nil {
		return nil
	}
	for _, e := range endpoints {
		u, err := url.Parse(e)
		if err != nil || u.Scheme != "https" {
			continue
		}
		d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: c.Clone()}
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		conn, err := d.DialContext(dctx, "tcp", u.Host)
		cancel()
		if err == nil {
			_ = conn.Close()
			return nil
		}
		var (
			unknownCA x509.UnknownAuthorityError
			hostname  x509.HostnameError
			invalid   x509.CertificateInvalidError
			verify    *tls.CertificateVerificationError
		)
		if errors.As(err, &verify) || errors.As(err, &unknownCA) || errors.As(err, &hostname) || errors.As(err, &invalid) {
			return fmt.Errorf("%w: %s: %v", ErrUntrusted, e, err)
		}
	}
	return nil
}
