// Command probe makes one real request to an e2e service and exits 0 only if
// it succeeded; the service scripts poll it to decide that a service is ready.
//
//	probe kafka 127.0.0.1:19092      metadata names a broker and a controller
//	probe hdfs 127.0.0.1:19000       a file is written to a DataNode, read back, removed
//	probe etcd http://127.0.0.1:12379 a key is put and read back
//	probe hdfs-krb localhost:19400 KEYTAB PRINCIPAL KRB5CONF
//	                                 the same through Kerberos (NameNode nn/_HOST,
//	                                 data transfer protection "authentication")
//	probe hms-krb thrift://localhost:19483 KEYTAB PRINCIPAL KRB5CONF
//	                                 get_all_databases over SASL GSSAPI
//	                                 (metastore principal hive/_HOST)
//	probe kafka-sasl 127.0.0.1:19392 metadata over SASL_SSL (SCRAM-SHA-512), with
//	                                 LANDFALL_PROBE_CA, _USER and _PASSWORD_FILE
//	probe kafka-gssapi localhost:19394 KEYTAB PRINCIPAL KRB5CONF
//	                                 metadata over SASL_SSL (GSSAPI, service
//	                                 name kafka), with LANDFALL_PROBE_CA
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/colinmarc/hdfs/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/landfall/landfall/hive"
	"github.com/landfall/landfall/internal/security"
)

func main() {
	if len(os.Args) == 6 && os.Args[1] == "hdfs-krb" {
		if err := probeHDFSKerberos(os.Args[2], os.Args[3], os.Args[4], os.Args[5]); err != nil {
			fmt.Fprintf(os.Stderr, "probe hdfs-krb: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) == 6 && os.Args[1] == "hms-krb" {
		if err := probeHMSKerberos(os.Args[2], os.Args[3], os.Args[4], os.Args[5]); err != nil {
			fmt.Fprintf(os.Stderr, "probe hms-krb: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) == 6 && os.Args[1] == "kafka-gssapi" {
		if err := probeKafkaGSSAPI(os.Args[2], os.Args[3], os.Args[4], os.Args[5]); err != nil {
			fmt.Fprintf(os.Stderr, "probe kafka-gssapi: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: probe kafka|kafka-sasl|hdfs|etcd ADDRESS")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	switch os.Args[1] {
	case "kafka":
		err = probeKafka(ctx, os.Args[2])
	case "kafka-sasl":
		var opts []kgo.Opt
		opts, err = security.Kafka("probe", security.TLS{CAFile: os.Getenv("LANDFALL_PROBE_CA")},
			security.SASL{Mechanism: security.MechScram512, Username: os.Getenv("LANDFALL_PROBE_USER"), PasswordFile: os.Getenv("LANDFALL_PROBE_PASSWORD_FILE")},
			nil, time.Now(), nil)
		if err == nil {
			err = probeKafka(ctx, os.Args[2], opts...)
		}
	case "hdfs":
		err = probeHDFS(os.Args[2])
	case "etcd":
		err = probeEtcd(ctx, os.Args[2])
	default:
		err = fmt.Errorf("unknown service %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "probe %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func probeKafka(ctx context.Context, addr string, opts ...kgo.Opt) error {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		return fmt.Errorf("new client: %w", err)
	}
	defer cl.Close()
	md, err := kadm.NewClient(cl).BrokerMetadata(ctx)
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	if len(md.Brokers) == 0 || md.Controller < 0 {
		return fmt.Errorf("metadata: %d brokers, controller %d", len(md.Brokers), md.Controller)
	}
	return nil
}

func probeKafkaGSSAPI(addr, keytab, principal, krb5conf string) error {
	kc, err := security.Kerberos{Principal: principal, Keytab: keytab, Krb5Conf: krb5conf}.Login("kerberos", 10*time.Second)
	if err != nil {
		return err
	}
	defer kc.Destroy()
	opts, err := security.Kafka("probe", security.TLS{CAFile: os.Getenv("LANDFALL_PROBE_CA")}, security.SASL{Mechanism: security.MechGSSAPI}, kc, time.Now(), nil)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return probeKafka(ctx, addr, opts...)
}

func probeHDFSKerberos(addr, keytab, principal, krb5conf string) error {
	kc, err := security.Kerberos{Principal: principal, Keytab: keytab, Krb5Conf: krb5conf}.Login("kerberos", 10*time.Second)
	if err != nil {
		return err
	}
	defer kc.Destroy()
	return probeHDFSWith(hdfs.ClientOptions{Addresses: []string{addr}, KerberosClient: kc,
		KerberosServicePrincipleName: "nn/_HOST", DataTransferProtection: "authentication"})
}

func probeHMSKerberos(uri, keytab, principal, krb5conf string) error {
	kc, err := security.Kerberos{Principal: principal, Keytab: keytab, Krb5Conf: krb5conf}.Login("kerberos", 10*time.Second)
	if err != nil {
		return err
	}
	defer kc.Destroy()
	c, err := hive.NewClient(hive.MetastoreConfig{URIs: []string{uri}, Retry: hive.RetryConfig{Attempts: 1}}, hive.WithKerberos(kc))
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Ping(ctx)
}

func probeHDFS(addr string) error {
	return probeHDFSWith(hdfs.ClientOptions{Addresses: []string{addr}, User: "root"})
}

func probeHDFSWith(opts hdfs.ClientOptions) error {
	cl, err := hdfs.NewClient(opts)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer cl.Close()
	name := fmt.Sprintf("/tmp/.probe-%d", os.Getpid())
	if err := cl.MkdirAll("/tmp", 0o777); err != nil {
		return fmt.Errorf("mkdir /tmp: %w", err)
	}
	_ = cl.Remove(name)
	w, err := cl.Create(name)
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	want := []byte("landfall probe\n")
	if _, err := w.Write(want); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for err = w.Close(); hdfs.IsErrReplicating(err) && time.Now().Before(deadline); err = w.Close() {
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("close %s: %w", name, err)
	}
	got, err := cl.ReadFile(name)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("read %s: got %q", name, got)
	}
	if err := cl.Remove(name); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}

func probeEtcd(ctx context.Context, endpoint string) error {
	cl, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer cl.Close()
	if _, err := cl.Put(ctx, "/landfall-e2e/probe", "ok"); err != nil {
		return fmt.Errorf("put: %w", err)
	}
	resp, err := cl.Get(ctx, "/landfall-e2e/probe")
	if err != nil {
		return fmt.Errorf("get: %w", err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "ok" {
		return errors.New("get: value not read back")
	}
	return nil
}
