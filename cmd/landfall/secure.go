package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	krb "github.com/jcmturner/gokrb5/v8/client"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/hive"
	"github.com/landfall/landfall/internal/security"
	"github.com/landfall/landfall/state"
	"github.com/landfall/landfall/writer/fsys"
)

// kerberosLoginTimeout bounds the start's login at the KDC.
const kerberosLoginTimeout = 20 * time.Second

// kerberosLogin logs in with the kerberos block (nil, nil without one),
// before anything is written: a keytab the KDC refuses stops the start
// naming kerberos.keytab. The log may be nil.
func kerberosLogin(cfg *committer.Config, log *slog.Logger) (*krb.Client, error) {
	if !cfg.Kerberos.On() {
		return nil, nil
	}
	kc, err := cfg.Kerberos.Login("kerberos", kerberosLoginTimeout)
	if err != nil {
		return nil, err
	}
	if log != nil {
		log.Info("kerberos login", "principal", cfg.Kerberos.Principal, "keytab", cfg.Kerberos.Keytab)
	}
	return kc, nil
}

// warehouseOptions has an hdfs:// warehouse use the Kerberos client.
func warehouseOptions(cfg *committer.Config, kc *krb.Client) []fsys.OpenOption {
	if kc == nil {
		return nil
	}
	return []fsys.OpenOption{fsys.WithKerberos(kc, cfg.Warehouse.NamenodeSPN(), cfg.Warehouse.DataTransferProtection)}
}

// metastoreOptions has the metastore client speak SASL GSSAPI with the
// Kerberos client, the same one (and so the same renewals) as HDFS's.
func metastoreOptions(kc *krb.Client, opts ...hive.Option) []hive.Option {
	if kc == nil {
		return opts
	}
	return append(opts, hive.WithKerberos(kc))
}

// warehouseErr names the key to fix when the warehouse can't be opened:
// with Kerberos, a NameNode principal the KDC doesn't know is
// warehouse.namenode_principal's fault, not the URI's.
func warehouseErr(cfg *committer.Config, err error) error {
	if cfg.Kerberos.On() && strings.Contains(err.Error(), "KDC_ERR_S_PRINCIPAL_UNKNOWN") {
		return fmt.Errorf("warehouse.namenode_principal: the KDC knows no NameNode principal %s for the warehouse's NameNodes (%w); set it to the cluster's dfs.namenode.kerberos.principal", cfg.Warehouse.NamenodeSPN(), err)
	}
	return fmt.Errorf("warehouse.uri: %w", err)
}

// etcdClientConfig is the etcd client's configuration: endpoints, etcd.tls
// and the user's credentials.
func etcdClientConfig(cfg *committer.Config, endpoints []string, log *slog.Logger) (clientv3.Config, error) {
	c := clientv3.Config{Endpoints: endpoints, DialTimeout: cfg.Etcd.DialTimeout, Logger: nopZap()}
	if endpoints[0] != cfg.Etcd.Endpoints[0] {
		return c, nil // embedded: plain loopback
	}
	tc, err := cfg.Etcd.TLS.Client("etcd.tls", time.Now(), log)
	if err != nil {
		return c, err
	}
	c.TLS = tc
	if cfg.Etcd.Username != "" {
		pw, err := cfg.Etcd.Password()
		if err != nil {
			return c, err
		}
		c.Username, c.Password = cfg.Etcd.Username, pw.Reveal()
	}
	return c, nil
}

// dialEtcd connects to etcd. With a user name the client authenticates
// while it connects, so an etcd that is down fails New itself: that is
// retried for etcd.connect_timeout like a lease request would be, while
// a refused password fails at once naming the keys to fix.
func dialEtcd(ctx context.Context, cfg *committer.Config, c clientv3.Config, log *slog.Logger) (*clientv3.Client, error) {
	if err := state.CheckTLS(ctx, c.Endpoints, c.TLS); err != nil {
		return nil, fmt.Errorf("etcd.tls.ca_file: %w; name the CA that signed etcd's server certificates (and check that they are for the endpoints' host names)", err)
	}
	t0 := time.Now()
	for attempt := 1; ; attempt++ {
		cli, err := clientv3.New(c)
		if err == nil {
			return cli, nil
		}
		if errors.Is(rpctypes.Error(err), rpctypes.ErrAuthFailed) {
			return nil, fmt.Errorf("etcd.password_file: etcd refused the password of etcd.username %q (%v); check etcd.username and etcd.password_file", c.Username, err)
		}
		if c.Username == "" || time.Since(t0) >= cfg.Etcd.ConnectTimeout || ctx.Err() != nil {
			return nil, fmt.Errorf("etcd: %w", err)
		}
		log.Warn("etcd unreachable; retrying", "endpoints", c.Endpoints, "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// explainDenied names the keys to fix when etcd refuses the user.
func explainDenied(cfg *committer.Config, err error) error {
	user := cfg.Etcd.Username
	if user == "" {
		user = "(none: the client certificate's common name, or anonymous)"
	}
	return fmt.Errorf("etcd.username %s: %w; grant the user the landfall role of docs/OPERATING.md (readwrite on %s/%s/) or fix etcd.username and etcd.password_file",
		user, err, cfg.Etcd.Prefix, cfg.LogID)
}

// checkKafka fails the start when the brokers of kafka (and, with the
// kafka commit step, of hive.kafka) refuse landfall's TLS or SASL
// credentials, before anything is written. kc is the kerberos block's
// client, for GSSAPI.
func checkKafka(ctx context.Context, cfg *committer.Config, kc *krb.Client, kopts []kgo.Opt, log *slog.Logger) error {
	// Without TLS or SASL there is nothing to refuse; a broker that is
	// down at start is the consumer's to wait for, as always.
	if cfg.Kafka.TLS.On() || cfg.Kafka.SASL.On() {
		if err := committer.CheckKafka(ctx, "kafka", cfg.Kafka.SASL, cfg.Kafka.Brokers, log, kopts...); err != nil {
			return err
		}
	}
	h := cfg.Hive.Kafka
	if !slices.Contains(cfg.Commit.Steps, hive.StepKafka) || !h.TLS.On() && !h.SASL.On() {
		return nil
	}
	hopts, err := security.Kafka("hive.kafka", h.TLS, h.SASL, kc, time.Now(), nil)
	if err != nil {
		return err
	}
	return committer.CheckKafka(ctx, "hive.kafka", h.SASL, h.Brokers, log, hopts...)
}

// bearer requires "Authorization: Bearer <token>" on h. The comparison
// takes the same time whatever the token sent, so that timing tells an
// attacker nothing about the right one.
func bearer(token security.Secret, h http.Handler) http.Handler {
	want := []byte("Bearer " + token.Reveal())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="landfall metrics"`)
			http.Error(w, "unauthorized: /metrics needs the bearer token of metrics.bearer_token_file", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
