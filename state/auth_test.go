package state

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// TestRoleOnTheLogidPrefixIsEnough: with etcd's auth on, a user whose only
// role is readwrite on KeyPrefix (the role docs/OPERATING.md tells
// operators to create) owns, saves, loads, fences and releases; a user
// without it fails at once with ErrDenied, not after the connect timeout.
func TestRoleOnTheLogidPrefixIsEnough(t *testing.T) {
	e, root := embedded(t)
	ctx := context.Background()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(root.UserAdd(ctx, "root", "rootpw"))
	must(root.UserGrantRole(ctx, "root", "root"))
	must(root.RoleAdd(ctx, "landfall-logs"))
	pfx := KeyPrefix("/landfall", "logs")
	must(root.RoleGrantPermission(ctx, "landfall-logs", pfx, clientv3.GetPrefixRangeEnd(pfx), clientv3.PermissionType(clientv3.PermReadWrite)))
	must(root.UserAdd(ctx, "landfall", "lfpw"))
	must(root.UserGrantRole(ctx, "landfall", "landfall-logs"))
	must(root.UserAdd(ctx, "norole", "nrpw"))
	must(root.AuthEnable(ctx))

	connect := func(user, pw string) *clientv3.Client {
		cli, err := clientv3.New(clientv3.Config{Endpoints: []string{e.URL()}, Username: user, Password: pw, Logger: zap.NewNop(), DialTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cli.Close() })
		return cli
	}

	s, err := Open(ctx, connect("landfall", "lfpw"), "logs", WithLeaseTTL(2*time.Second))
	if err != nil {
		t.Fatalf("Open with the role: %v", err)
	}
	if err := s.Save(ctx, &Checkpoint{Seq: 1, Offsets: map[int32]int64{0: 5}}); err != nil {
		t.Fatalf("Save with the role: %v", err)
	}
	if cp, err := s.Load(ctx); err != nil || cp.Seq != 1 {
		t.Fatalf("Load with the role: %+v, %v", cp, err)
	}
	if err := s.Fence(ctx); err != nil {
		t.Fatalf("Fence with the role: %v", err)
	}
	s.Close()

	// The same role does not reach another logid.
	t0 := time.Now()
	_, err = Open(ctx, connect("landfall", "lfpw"), "other", WithLeaseTTL(2*time.Second), WithConnectTimeout(time.Minute))
	if !errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), "/landfall/other/") {
		t.Fatalf("Open of another logid: %v, want ErrDenied naming /landfall/other/", err)
	}
	_, err = Open(ctx, connect("norole", "nrpw"), "logs", WithLeaseTTL(2*time.Second), WithConnectTimeout(time.Minute))
	if !errors.Is(err, ErrDenied) {
		t.Fatalf("Open without the role: %v, want ErrDenied", err)
	}
	if took := time.Since(t0); took > 10*time.Second {
		t.Fatalf("denials took %v; they must not wait for etcd.connect_timeout", took)
	}
}
