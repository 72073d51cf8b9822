// Package hivetest is an in-process Hive metastore for tests and the
// quickstart: gohive's generated Thrift processor over a small in-memory
// handler, served on a loopback port, with switches that take it down, make
// it hang or make it fail so that tests can stage a metastore outage.
//
// It implements the calls landfall makes (databases, tables, partitions)
// and answers every other method with Thrift's "unknown method".
package hivetest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"

	"github.com/apache/thrift/lib/go/thrift"
	hms "github.com/beltran/gohive/hive_metastore"
)

// Server is an in-process metastore. Its data survives Down and Up, like a
// metastore's database survives a metastore restart.
type Server struct {
	addr string
	h    *handler
	proc *hms.ThriftHiveMetastoreProcessor

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]context.CancelFunc
	closed bool
	wg     sync.WaitGroup
}

// Start serves a metastore on addr ("127.0.0.1:0" picks a free port).
func Start(addr string) (*Server, error) {
	h := newHandler()
	proc := hms.NewThriftHiveMetastoreProcessor(h)
	// Unimplemented methods are removed so that the processor answers them
	// with UNKNOWN_METHOD instead of calling the nil embedded interface.
	for name := range proc.ProcessorMap() {
		if !implemented[name] {
			delete(proc.ProcessorMap(), name)
		}
	}
	s := &Server{h: h, proc: proc, conns: map[net.Conn]context.CancelFunc{}}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("hivetest: listen on %s: %w", addr, err)
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	return s, nil
}

// New starts a server on a free loopback port and closes it when the test
// ends.
func New(t testing.TB) *Server {
	t.Helper()
	s, err := Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Addr is host:port; URI is thrift://host:port.
func (s *Server) Addr() string { return s.addr }

// URI is the metastore URI for hive.metastore.uris.
func (s *Server) URI() string { return "thrift://" + s.addr }

func (s *Server) serve(ln net.Listener) {
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // listener closed by Down or Close
			}
			ctx, cancel := context.WithCancel(context.Background())
			s.mu.Lock()
			if s.closed || s.ln != ln {
				s.mu.Unlock()
				cancel()
				_ = c.Close()
				continue
			}
			s.conns[c] = cancel
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.handle(ctx, c)
				cancel()
				_ = c.Close()
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
			}()
		}
	}()
}

func (s *Server) handle(ctx context.Context, c net.Conn) {
	tr := thrift.NewStreamTransportRW(c)
	proto := thrift.NewTBinaryProtocolConf(tr, &thrift.TConfiguration{})
	for ctx.Err() == nil {
		ok, err := s.proc.Process(ctx, proto, proto)
		if err != nil {
			var tt thrift.TTransportException
			if errors.As(err, &tt) {
				return
			}
			var ta thrift.TApplicationException
			if errors.As(err, &ta) && ta.TypeId() == thrift.UNKNOWN_METHOD {
				continue
			}
		}
		if !ok {
			return
		}
	}
}

// Down stops the metastore as a crash would: the port refuses connections
// and open connections are cut. Calls in flight (hanging ones too) end.
// The data stays for Up.
func (s *Server) Down() {
	s.mu.Lock()
	ln := s.ln
	s.ln = nil
	conns := s.conns
	s.conns = map[net.Conn]context.CancelFunc{}
	s.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
	for c, cancel := range conns {
		cancel()
		_ = c.Close()
	}
}

// Up serves again on the same address after Down.
func (s *Server) Up() error {
	s.mu.Lock()
	up, closed := s.ln != nil, s.closed
	s.mu.Unlock()
	if up || closed {
		return nil
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("hivetest: listen again on %s: %w", s.addr, err)
	}
	s.serve(ln)
	return nil
}

// Close stops the server for good and waits for its goroutines.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	// Down first: a hanging call then ends unanswered, as it would when a
	// metastore dies, rather than being answered by a release.
	s.Down()
	s.h.release()
	s.wg.Wait()
}

// Hang makes every call block (until Hang(false), Down or Close) after the
// server read the request: a metastore stuck on its database.
func (s *Server) Hang(on bool) { s.h.setHang(on) }

// Fail makes every call answer a MetaException with msg (a metastore whose
// database is down); Fail("") ends it.
func (s *Server) Fail(msg string) { s.h.setFail(msg) }

// FailNext makes the next n calls answer a MetaException.
func (s *Server) FailNext(n int) { s.h.setFailNext(n) }

// Calls is how many times the Thrift method (e.g. "add_partition") was
// called, including failed calls.
func (s *Server) Calls(method string) int { return s.h.calls(method) }

// Partitions returns copies of the partitions of a table, in name order.
func (s *Server) Partitions(db, table string) []*hms.Partition { return s.h.partitions(db, table) }

// PutTable stores t as is (no checks), for tests that need odd tables.
func (s *Server) PutTable(t *hms.Table) { s.h.putTable(t) }

// EditPartition changes a stored partition in place, as an operator or
// another tool would; it does nothing if the partition does not exist.
func (s *Server) EditPartition(db, table string, values []string, edit func(*hms.Partition)) {
	s.h.editPartition(db, table, values, edit)
}

// RecomputeStatsOnAdd makes add_partition overwrite numFiles and totalSize
// (with zeros) as Hive 4 does when the partition directory exists already.
func (s *Server) RecomputeStatsOnAdd(on bool) {
	s.h.mu.Lock()
	s.h.recompute = on
	s.h.mu.Unlock()
}
