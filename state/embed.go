package state

import (
	"fmt"
	"net/url"
	"sync"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Embedded is an etcd server inside this process, for the quickstart, tests
// and single-node setups that don't run an etcd cluster.
type Embedded struct {
	etcd  *embed.Etcd
	close sync.Once
	// Endpoint is the client URL, e.g. http://127.0.0.1:23790.
	Endpoint string
}

// StartEmbedded starts etcd with its data in dir, listening on 127.0.0.1.
// Ports 0 pick free ones.
func StartEmbedded(dir string, clientPort, peerPort int) (*Embedded, error) {
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.Logger = "zap"
	cfg.LogLevel = "error"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cu, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", clientPort))
	pu, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", peerPort))
	cfg.ListenClientUrls = []url.URL{*cu}
	cfg.AdvertiseClientUrls = []url.URL{*cu}
	cfg.ListenPeerUrls = []url.URL{*pu}
	cfg.AdvertisePeerUrls = []url.URL{*pu}
	cfg.InitialCluster = cfg.Name + "=" + pu.String()
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("state: start embedded etcd in %s: %w", dir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, fmt.Errorf("state: embedded etcd in %s not ready after 60s", dir)
	}
	return &Embedded{etcd: e, Endpoint: e.Clients[0].Addr().String()}, nil
}

// URL is the client endpoint with its scheme.
func (e *Embedded) URL() string { return "http://" + e.Endpoint }

// Close stops the server; closing again does nothing.
func (e *Embedded) Close() {
	e.close.Do(e.etcd.Close)
}
