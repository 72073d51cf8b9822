package security

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
)

// TLS is a client's `tls:` block (kafka.tls, hive.kafka.tls, etcd.tls,
// hive.webhook.tls). TLS is on when Enabled is true or any file or the
// server name is set; with no ca_file the system's roots verify the server.
type TLS struct {
	// Enabled turns TLS on with the system's CA roots and no client
	// certificate; setting any other key turns it on too.
	Enabled bool `yaml:"enabled"`
	// CAFile holds the PEM certificates of the CAs that sign the servers'
	// certificates (default: the system's roots).
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are the client's certificate (PEM, the chain
	// after it) and its private key (PEM), for servers that ask for one.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName is the name the server's certificate must carry (default:
	// the host of the address dialled).
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify accepts any server certificate: anyone on the path
	// can then read and change the traffic, credentials included. Only for
	// a test cluster; refused together with ca_file, and logged at WARN.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// On says whether the block asks for TLS at all.
func (t TLS) On() bool {
	return t.Enabled || t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.ServerName != "" || t.InsecureSkipVerify
}

// Client builds the client configuration, checking every file now: a
// file that is missing or unreadable, a key that doesn't match its
// certificate, a certificate that has expired or is not valid yet. key is
// the block's full name in the configuration (kafka.tls), for the errors.
// It returns nil, nil when the block is off. log, if not nil, gets the
// WARN for insecure_skip_verify.
func (t TLS) Client(key string, now time.Time, log *slog.Logger) (*tls.Config, error) {
	if !t.On() {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	var errs []error
	if t.InsecureSkipVerify {
		if t.CAFile != "" {
			errs = append(errs, fmt.Errorf("%s.insecure_skip_verify: true together with %s.ca_file; verify against the CA (remove insecure_skip_verify) or remove ca_file", key, key))
		}
		c.InsecureSkipVerify = true
		if log != nil {
			log.Warn("TLS server certificates are not verified (insecure_skip_verify): anyone on the network path can read and change this traffic", "key", key+".insecure_skip_verify")
		}
	}
	if t.CAFile != "" {
		pool, err := loadCAs(key+".ca_file", t.CAFile, now)
		if err != nil {
			errs = append(errs, err)
		}
		c.RootCAs = pool
	}
	if cert, err := loadPair(key, t.CertFile, t.KeyFile, now); err != nil {
		errs = append(errs, err)
	} else if cert != nil {
		c.Certificates = []tls.Certificate{*cert}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// ServerTLS is a server's `tls:` block (metrics.tls): its certificate and
// private key. Empty is off.
type ServerTLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// On says whether the block asks for TLS.
func (t ServerTLS) On() bool { return t.CertFile != "" || t.KeyFile != "" }

// Server builds the server configuration with the same checks as
// TLS.Client; nil, nil when the block is off.
func (t ServerTLS) Server(key string, now time.Time) (*tls.Config, error) {
	if !t.On() {
		return nil, nil
	}
	cert, err := loadPair(key, t.CertFile, t.KeyFile, now)
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{*cert}}, nil
}

// loadPair loads a certificate and its key; nil, nil when neither is set.
func loadPair(key, certFile, keyFile string, now time.Time) (*tls.Certificate, error) {
	switch {
	case certFile == "" && keyFile == "":
		return nil, nil
	case certFile == "":
		return nil, fmt.Errorf("%s.cert_file: missing: %s.key_file is set; name the certificate of that key (PEM)", key, key)
	case keyFile == "":
		return nil, fmt.Errorf("%s.key_file: missing: %s.cert_file is set; name the certificate's private key (PEM)", key, key)
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("%s.cert_file: %w; make the file readable by landfall's user", key, pathErr(err))
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("%s.key_file: %w; make the file readable by landfall's user", key, pathErr(err))
	}
	certs, err := parseCerts(certPEM)
	if err != nil {
		return nil, fmt.Errorf("%s.cert_file: %s: %v; want the certificate in PEM (-----BEGIN CERTIFICATE-----)", key, certFile, err)
	}
	if err := checkValidity(key+".cert_file", certFile, certs[0], now); err != nil {
		return nil, err
	}
	// X509KeyPair's errors describe the key's kind, never its bytes.
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		if strings.Contains(err.Error(), "does not match") {
			return nil, fmt.Errorf("%s.key_file: %s is not the private key of the certificate in %s.cert_file (%s); pair each certificate with its own key", key, keyFile, key, certFile)
		}
		return nil, fmt.Errorf("%s.key_file: %s: %v; want the private key in PEM (-----BEGIN PRIVATE KEY-----, RSA or EC)", key, keyFile, err)
	}
	return &pair, nil
}

// loadCAs reads a PEM bundle of CA certificates into a pool.
func loadCAs(key, file string, now time.Time) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w; make the file readable by landfall's user", key, pathErr(err))
	}
	certs, err := parseCerts(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %v; want the CA certificates in PEM (-----BEGIN CERTIFICATE-----)", key, file, err)
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		if err := checkValidity(key, file, c, now); err != nil {
			return nil, err
		}
		pool.AddCert(c)
	}
	return pool, nil
}

func parseCerts(b []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %v", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificate in the file")
	}
	return certs, nil
}

func checkValidity(key, file string, c *x509.Certificate, now time.Time) error {
	switch {
	case now.After(c.NotAfter):
		return fmt.Errorf("%s: %s: certificate %q expired at %s; renew it", key, file, c.Subject.CommonName, c.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(c.NotBefore):
		return fmt.Errorf("%s: %s: certificate %q is not valid before %s; check the clock or the certificate", key, file, c.Subject.CommonName, c.NotBefore.UTC().Format(time.RFC3339))
	}
	return nil
}
