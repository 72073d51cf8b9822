package fsys

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/colinmarc/hdfs/v2"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// The HDFS backend itself is tested against a real NameNode and DataNode in
// e2e/hdfs_test.go (make e2e). These tests pin what it assumes about the
// client library and the wire format, so that a dependency upgrade that
// breaks them fails in the fast suite.

func TestHDFSClientHasNamenodeExecute(t *testing.T) {
	f, ok := reflect.TypeOf(hdfs.Client{}).FieldByName("namenode")
	if !ok || f.Type.Kind() != reflect.Pointer {
		t.Fatal("colinmarc/hdfs Client has no namenode connection pointer")
	}
	m, ok := f.Type.MethodByName("Execute")
	want := reflect.TypeOf(func(string, proto.Message, proto.Message) error { return nil })
	if !ok || m.Type.NumIn() != 4 || m.Type.In(1) != want.In(0) || m.Type.In(2) != want.In(1) || m.Type.In(3) != want.In(2) || m.Type.NumOut() != 1 || m.Type.Out(0) != want.Out(0) {
		t.Fatalf("namenode connection has no Execute(string, proto.Message, proto.Message) error")
	}
}

func TestHDFSRename2RequestWireFormat(t *testing.T) {
	msgs, err := clientProtocolMessages()
	if err != nil {
		t.Fatal(err)
	}
	r := &namenodeRPC{msgs: msgs}
	got, err := proto.Marshal(r.message("Rename2RequestProto", map[string]any{"src": "/a", "dst": "/b", "overwriteDest": false}))
	if err != nil {
		t.Fatal(err)
	}
	// ClientNamenodeProtocol.proto: src = 1, dst = 2, overwriteDest = 3
	// (required, so false must be on the wire). Field order is free.
	fields := map[protowire.Number]string{}
	for b := got; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag in %x", got)
		}
		b = b[n:]
		switch typ {
		case protowire.BytesType:
			v, m := protowire.ConsumeString(b)
			if m < 0 {
				t.Fatalf("bad string in %x", got)
			}
			fields[num], b = v, b[m:]
		case protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				t.Fatalf("bad varint in %x", got)
			}
			fields[num], b = fmt.Sprint(v), b[m:]
		default:
			t.Fatalf("unexpected wire type %d in %x", typ, got)
		}
	}
	want := map[protowire.Number]string{1: "/a", 2: "/b", 3: "0"}
	if !reflect.DeepEqual(fields, want) {
		t.Fatalf("rename2 request fields = %v, want %v", fields, want)
	}
}

func TestOpenHDFSURIErrors(t *testing.T) {
	for _, uri := range []string{"hdfs:///warehouse", "hdfs://nn:8020"} {
		if _, err := Open(uri); !errors.Is(err, ErrUnsupported) {
			t.Errorf("Open(%q) = %v, want ErrUnsupported", uri, err)
		}
	}
}
