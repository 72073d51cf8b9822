package hivetest_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	hms "github.com/beltran/gohive/hive_metastore"
	"github.com/landfall/landfall/hive/hivetest"
)

func dial(t *testing.T, addr string) (*hms.ThriftHiveMetastoreClient, func()) {
	t.Helper()
	sock := thrift.NewTSocketConf(addr, &thrift.TConfiguration{ConnectTimeout: time.Second, SocketTimeout: 5 * time.Second})
	if err := sock.Open(); err != nil {
		t.Fatal(err)
	}
	proto := thrift.NewTBinaryProtocolConf(thrift.NewTBufferedTransport(sock, 4096), nil)
	return hms.NewThriftHiveMetastoreClient(thrift.NewTStandardClient(proto, proto)), func() { _ = sock.Close() }
}

// Close ends everything the server started, hanging calls included.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	s, err := hivetest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl, closeConn := dial(t, s.Addr())
	defer closeConn()
	ctx := context.Background()
	if dbs, err := cl.GetAllDatabases(ctx); err != nil || len(dbs) != 1 || dbs[0] != "default" {
		t.Fatalf("get_all_databases = %v, %v", dbs, err)
	}
	// An unimplemented method is answered, not fatal to the connection.
	var ae thrift.TApplicationException
	if _, err := cl.GetAllFunctions(ctx); !errors.As(err, &ae) || ae.TypeId() != thrift.UNKNOWN_METHOD {
		t.Fatalf("get_all_functions = %v; want UNKNOWN_METHOD", err)
	}
	if _, err := cl.GetAllDatabases(ctx); err != nil {
		t.Fatalf("call after an unknown method: %v", err)
	}

	s.Hang(true)
	hung := make(chan error, 1)
	go func() {
		_, err := cl.GetAllDatabases(ctx)
		hung <- err
	}()
	time.Sleep(50 * time.Millisecond)
	s.Close()
	if err := <-hung; err == nil {
		t.Error("a call hanging while the server closed succeeded")
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

func TestDownAndUpKeepData(t *testing.T) {
	s := hivetest.New(t)
	cl, closeConn := dial(t, s.Addr())
	ctx := context.Background()
	if err := cl.CreateDatabase(ctx, &hms.Database{Name: "Logs"}); err != nil {
		t.Fatal(err)
	}
	closeConn()
	s.Down()
	sock := thrift.NewTSocketConf(s.Addr(), &thrift.TConfiguration{ConnectTimeout: time.Second})
	if err := sock.Open(); err == nil {
		_ = sock.Close()
		t.Fatal("connected to a server that is down")
	}
	if err := s.Up(); err != nil {
		t.Fatal(err)
	}
	cl, closeConn = dial(t, s.Addr())
	defer closeConn()
	db, err := cl.GetDatabase(ctx, "logs")
	if err != nil || db.Name != "logs" {
		t.Fatalf("get_database after Down/Up = %v, %v", db, err)
	}
	if _, err := cl.GetDatabase(ctx, "nope"); err == nil {
		t.Fatal("get_database of a missing database succeeded")
	} else {
		var nse *hms.NoSuchObjectException
		if !errors.As(err, &nse) {
			t.Fatalf("get_database of a missing database = %T %v; want NoSuchObjectException", err, err)
		}
	}
}
