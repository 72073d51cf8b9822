package committer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/keytab"
)

// TestConfigKerberosKeys: the kerberos block and the warehouse's Kerberos
// keys parse where the README says, and each mistake fails at parse time
// naming the key (and the file), before any KDC is asked.
func TestConfigKerberosKeys(t *testing.T) {
	dir := t.TempDir()
	kt := keytab.New()
	if err := kt.AddEntry("landfall/localhost", "LANDFALL.TEST", "kt-pa55word", time.Now(), 1, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
		t.Fatal(err)
	}
	b, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ktFile := filepath.Join(dir, "landfall.keytab")
	conf := filepath.Join(dir, "krb5.conf")
	for f, v := range map[string][]byte{ktFile: b, conf: []byte("[libdefaults]\n default_realm = LANDFALL.TEST\n[realms]\n LANDFALL.TEST = {\n  kdc = 127.0.0.1:19488\n }\n")} {
		if err := os.WriteFile(f, v, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	krb := fmt.Sprintf("kerberos: {principal: landfall/localhost@LANDFALL.TEST, keytab: %s, krb5_conf: %s}", ktFile, conf)
	wh := func(extra string) string {
		return "warehouse: {uri: 'hdfs://localhost:19420/warehouse/t'" + extra + "}"
	}

	c, err := ParseConfig([]byte(withSections(krb + "\n" + wh(", namenode_principal: nn/_HOST@LANDFALL.TEST, data_transfer_protection: privacy"))))
	if err != nil {
		t.Fatal(err)
	}
	if c.Kerberos.Keytab != ktFile || c.Warehouse.NamenodeSPN() != "nn/_HOST" || c.Warehouse.DataTransferProtection != "privacy" {
		t.Fatalf("parsed %+v %+v", c.Kerberos, c.Warehouse)
	}
	c, err = ParseConfig([]byte(withSections(krb + "\n" + wh(""))))
	if err != nil {
		t.Fatal(err)
	}
	if c.Warehouse.NamenodeSPN() != "nn/_HOST" {
		t.Errorf("default NameNode principal %q", c.Warehouse.NamenodeSPN())
	}
	// A Kerberized metastore: SASL GSSAPI, with or without its principal.
	for _, ms := range []string{"{uris: ['thrift://localhost:9083']}", "{uris: ['thrift://localhost:9083'], kerberos_principal: hive/_HOST@LANDFALL.TEST}"} {
		_, err = ParseConfig([]byte(withSections(krb + "\n" + wh("") + "\nhive: {database: d, table: t, metastore: " + ms + "}")))
		if err != nil {
			t.Fatalf("kerberos with hive.metastore %s: %v", ms, err)
		}
	}

	// GSSAPI to the brokers and to the notification cluster, with the
	// kerberos block's principal.
	c, err = ParseConfig([]byte(withSections(krb + "\nkafka: {brokers: [k:1], topic: t, sasl: {mechanism: GSSAPI, service_name: kafka-prod}}" +
		"\nhive: {kafka: {brokers: [k:1], topic: n, sasl: {mechanism: GSSAPI}}}\ncommit: {steps: [success-file, kafka]}")))
	if err != nil {
		t.Fatal(err)
	}
	if c.Kafka.SASL.KafkaServiceName() != "kafka-prod" || c.Hive.Kafka.SASL.KafkaServiceName() != "kafka" {
		t.Errorf("service names %q, %q; want kafka-prod and the default kafka", c.Kafka.SASL.KafkaServiceName(), c.Hive.Kafka.SASL.KafkaServiceName())
	}
	gssapi := "kafka: {brokers: [k:1], topic: t, sasl: {mechanism: GSSAPI}}"

	for _, tc := range []struct{ yaml, want string }{
		{gssapi, "kafka.sasl.mechanism: GSSAPI needs the top-level kerberos block (missing or not usable): set kerberos.principal, kerberos.keytab and kerberos.krb5_conf"},
		{"hive: {kafka: {brokers: [k:1], topic: n, sasl: {mechanism: GSSAPI}}}\ncommit: {steps: [success-file, kafka]}", "hive.kafka.sasl.mechanism: GSSAPI needs the top-level kerberos block"},
		{krb + "\nkafka: {brokers: [k:1], topic: t, sasl: {mechanism: GSSAPI, username: landfall}}", "kafka.sasl: GSSAPI takes no user name, password or token: its principal and keytab are kerberos.principal and kerberos.keytab"},
		{krb + "\nkafka: {brokers: [k:1], topic: t, sasl: {mechanism: GSSAPI, service_name: kafka/broker1.example.com}}", `kafka.sasl.service_name: "kafka/broker1.example.com": want the brokers' sasl.kerberos.service.name alone`},
		{krb + "\nkafka: {brokers: [k:1], topic: t, sasl: {mechanism: GSSAPI, servce_name: kafka}}", "kafka.sasl.servce_name: unknown key (did you mean kafka.sasl.service_name?)"},
		// A broken kerberos block is named as such, beside GSSAPI's need of it.
		{fmt.Sprintf("kerberos: {principal: landfall/otherhost, keytab: %s, krb5_conf: %s}\n%s", ktFile, conf, gssapi), "kerberos.keytab: " + ktFile + " holds no key for landfall/otherhost@LANDFALL.TEST"},
		{fmt.Sprintf("kerberos: {principal: landfall/localhost, keytab: %s, krb5_conf: %s}", filepath.Join(dir, "nope.keytab"), conf), "kerberos.keytab: " + filepath.Join(dir, "nope.keytab") + ": no such file"},
		{fmt.Sprintf("kerberos: {principal: landfall/otherhost, keytab: %s, krb5_conf: %s}", ktFile, conf), "kerberos.keytab: " + ktFile + " holds no key for landfall/otherhost@LANDFALL.TEST"},
		{fmt.Sprintf("kerberos: {principal: landfall/localhost, keytab: %s, krb5_conf: %s}", ktFile, ktFile), "kerberos.krb5_conf: " + ktFile + ": names no realm"},
		{fmt.Sprintf("kerberos: {keytab: %s, krb5_conf: %s}", ktFile, conf), "kerberos.principal: missing"},
		{fmt.Sprintf("kerberos: {principal: landfall/localhost, keytab: %s, krb5_conf: %s, ticket_cache: /tmp/x}", ktFile, conf), "kerberos.ticket_cache: unknown key"},
		{krb + "\n" + wh(", namenode_principal: nn"), `warehouse.namenode_principal: "nn": want service/host@REALM`},
		{krb + "\n" + wh(", data_transfer_protection: secret"), `warehouse.data_transfer_protection: "secret": want authentication, integrity or privacy`},
		{wh(", namenode_principal: nn/_HOST@LANDFALL.TEST"), "warehouse.namenode_principal: set without kerberos"},
		{wh(", data_transfer_protection: privacy"), "warehouse.data_transfer_protection: set without kerberos"},
		{krb + "\nhive: {database: d, table: t, metastore: {uris: ['thrift://localhost:9083'], kerberos_principal: hive}}", `hive.metastore.kerberos_principal: "hive": want service/host@REALM`},
		{"hive: {database: d, table: t, metastore: {uris: ['thrift://localhost:9083'], kerberos_principal: hive/_HOST@LANDFALL.TEST}}", "hive.metastore.kerberos_principal: set without kerberos"},
	} {
		_, err := ParseConfig([]byte(withSections(tc.yaml)))
		if err == nil {
			t.Errorf("%s: accepted", tc.yaml)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.yaml, err, tc.want)
		}
		if strings.Contains(err.Error(), "kt-pa55word") {
			t.Errorf("%s: the error shows the password: %q", tc.yaml, err)
		}
	}
}
