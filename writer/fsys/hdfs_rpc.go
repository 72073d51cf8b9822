package fsys

import (
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"unsafe"

	"github.com/colinmarc/hdfs/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// namenodeRPC calls the few ClientProtocol methods that colinmarc/hdfs does
// not expose but landfall's promises depend on:
//
//   - rename2 with overwriteDest=false: the client's Rename always passes
//     overwriteDest=true, which would let a zombie replace a committed file;
//   - recoverLease and isFileClosed: lease recovery of a file whose writer
//     died.
//
// It sends them over the client's own NameNode connection (so Kerberos, HA
// failover and retries on a standby behave as for every other call) by
// calling the unexported connection's Execute method through reflection, with
// messages built from descriptors at run time (not registered globally, so
// they cannot clash with the client's generated types). newNamenodeRPC checks
// the shape it relies on, so a client upgrade that changes it fails at
// construction with a clear error, and the conformance suite covers the rest.
type namenodeRPC struct {
	execute reflect.Value
	msgs    map[string]protoreflect.MessageDescriptor
}

// namenodeError is the error the client returns for a remote exception.
type namenodeError interface {
	Exception() string
	Message() string
}

const (
	excFileNotFound        = "java.io.FileNotFoundException"
	excFileAlreadyExists   = "org.apache.hadoop.fs.FileAlreadyExistsException"
	excAlreadyBeingCreated = "org.apache.hadoop.hdfs.protocol.AlreadyBeingCreatedException"
	excRecoveryInProgress  = "org.apache.hadoop.hdfs.protocol.RecoveryInProgressException"
)

// remoteException returns the Java exception class of a NameNode error, or "".
func remoteException(err error) string {
	var ne namenodeError
	if errors.As(err, &ne) {
		return ne.Exception()
	}
	return ""
}

// mapRemote wraps the io/fs sentinel that matches a NameNode exception.
func mapRemote(err error) error {
	switch remoteException(err) {
	case excFileNotFound:
		return fmt.Errorf("%w: %w", fs.ErrNotExist, err)
	case excFileAlreadyExists:
		return fmt.Errorf("%w: %w", fs.ErrExist, err)
	}
	return err
}

func newNamenodeRPC(c *hdfs.Client) (*namenodeRPC, error) {
	field := reflect.ValueOf(c).Elem().FieldByName("namenode")
	if !field.IsValid() || field.Kind() != reflect.Pointer {
		return nil, errors.New("fsys: colinmarc/hdfs client has no namenode connection field; this client version is not supported")
	}
	conn := reflect.NewAt(field.Type(), unsafe.Pointer(field.UnsafeAddr())).Elem()
	execute := conn.MethodByName("Execute")
	want := reflect.TypeOf(func(string, proto.Message, proto.Message) error { return nil })
	if !execute.IsValid() || execute.Type() != want {
		return nil, errors.New("fsys: colinmarc/hdfs namenode connection has no Execute(string, proto.Message, proto.Message) error; this client version is not supported")
	}
	msgs, err := clientProtocolMessages()
	if err != nil {
		return nil, err
	}
	return &namenodeRPC{execute: execute, msgs: msgs}, nil
}

// clientProtocolMessages describes the request and response messages of
// ClientNamenodeProtocol.proto that namenodeRPC sends, with the field numbers
// of the Hadoop 2 and 3 wire protocol.
func clientProtocolMessages() (map[string]protoreflect.MessageDescriptor, error) {
	type field struct {
		name string
		num  int32
		typ  descriptorpb.FieldDescriptorProto_Type
	}
	str, boolean := descriptorpb.FieldDescriptorProto_TYPE_STRING, descriptorpb.FieldDescriptorProto_TYPE_BOOL
	defs := []struct {
		name   string
		fields []field
	}{
		{"Rename2RequestProto", []field{{"src", 1, str}, {"dst", 2, str}, {"overwriteDest", 3, boolean}}},
		{"Rename2ResponseProto", nil},
		{"RecoverLeaseRequestProto", []field{{"src", 1, str}, {"clientName", 2, str}}},
		{"RecoverLeaseResponseProto", []field{{"result", 1, boolean}}},
		{"IsFileClosedRequestProto", []field{{"src", 1, str}}},
		{"IsFileClosedResponseProto", []field{{"result", 1, boolean}}},
	}
	file := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("landfall/fsys/hdfs_client_protocol.proto"),
		Package: proto.String("landfall.fsys.hdfs"),
		Syntax:  proto.String("proto2"),
	}
	for _, d := range defs {
		m := &descriptorpb.DescriptorProto{Name: proto.String(d.name)}
		for _, f := range d.fields {
			m.Field = append(m.Field, &descriptorpb.FieldDescriptorProto{
				Name:   proto.String(f.name),
				Number: proto.Int32(f.num),
				Label:  descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
				Type:   f.typ.Enum(),
			})
		}
		file.MessageType = append(file.MessageType, m)
	}
	fd, err := protodesc.NewFile(file, nil)
	if err != nil {
		return nil, fmt.Errorf("fsys: build hdfs client protocol descriptors: %w", err)
	}
	out := make(map[string]protoreflect.MessageDescriptor, len(defs))
	for i := 0; i < fd.Messages().Len(); i++ {
		m := fd.Messages().Get(i)
		out[string(m.Name())] = m
	}
	return out, nil
}

// message returns a new message of the named type with the given fields set.
func (r *namenodeRPC) message(name string, fields map[string]any) *dynamicpb.Message {
	md := r.msgs[name]
	m := dynamicpb.NewMessage(md)
	for k, v := range fields {
		m.Set(md.Fields().ByName(protoreflect.Name(k)), protoreflect.ValueOf(v))
	}
	return m
}

func (r *namenodeRPC) call(method string, req, resp proto.Message) error {
	out := r.execute.Call([]reflect.Value{reflect.ValueOf(method), reflect.ValueOf(req), reflect.ValueOf(resp)})
	if err, _ := out[0].Interface().(error); err != nil {
		return err
	}
	return nil
}

// rename2NoOverwrite renames src to dst, failing with FileAlreadyExists
// (mapped to fs.ErrExist) if dst exists. The NameNode does the check and the
// move under one lock, so of two racing renames onto the same name exactly
// one wins.
func (r *namenodeRPC) rename2NoOverwrite(src, dst string) error {
	req := r.message("Rename2RequestProto", map[string]any{"src": src, "dst": dst, "overwriteDest": false})
	return mapRemote(r.call("rename2", req, r.message("Rename2ResponseProto", nil)))
}

// recoverLease asks the NameNode to revoke the writer's lease on src and
// recover its last block; it reports whether the file is already closed.
// clientName must not be the lease holder's (the NameNode refuses a holder
// recovering its own lease).
func (r *namenodeRPC) recoverLease(src, clientName string) (bool, error) {
	req := r.message("RecoverLeaseRequestProto", map[string]any{"src": src, "clientName": clientName})
	resp := r.message("RecoverLeaseResponseProto", nil)
	if err := r.call("recoverLease", req, resp); err != nil {
		return false, mapRemote(err)
	}
	return resp.Get(resp.Descriptor().Fields().ByName("result")).Bool(), nil
}

// isFileClosed reports whether src is closed (not under construction).
func (r *namenodeRPC) isFileClosed(src string) (bool, error) {
	req := r.message("IsFileClosedRequestProto", map[string]any{"src": src})
	resp := r.message("IsFileClosedResponseProto", nil)
	if err := r.call("isFileClosed", req, resp); err != nil {
		return false, mapRemote(err)
	}
	return resp.Get(resp.Descriptor().Fields().ByName("result")).Bool(), nil
}
