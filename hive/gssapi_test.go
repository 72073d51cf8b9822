package hive

import (
	"crypto/rand"
	"strings"
	"testing"

	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/types"
)

func testKey(t *testing.T) types.EncryptionKey {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return types.EncryptionKey{KeyType: etypeID.AES256_CTS_HMAC_SHA1_96, KeyValue: k}
}

// acceptorWrap is the metastore's side: a wrap token of payload.
func acceptorWrap(t *testing.T, key types.EncryptionKey, payload []byte, seq uint64) []byte {
	t.Helper()
	wt := gssapi.WrapToken{Flags: wrapSentByAcceptor, EC: 12, SndSeqNum: seq, Payload: payload}
	if err := wt.SetCheckSum(key, keyusage.GSSAPI_ACCEPTOR_SEAL); err != nil {
		t.Fatal(err)
	}
	b, err := wt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// afterAPReq is a mechanism that sent its AP-REQ with key.
func afterAPReq(key types.EncryptionKey) *gssapiMech {
	return &gssapiMech{key: key, seq: 4711}
}

func TestGSSAPISecurityLayer(t *testing.T) {
	key := testKey(t)
	m := afterAPReq(key)
	// Without mutual authentication the answer to the AP-REQ is empty.
	resp, done, err := m.step(nil)
	if err != nil || done || len(resp) != 0 {
		t.Fatalf("step(empty) = %x, %v, %v; want an empty response", resp, done, err)
	}
	offer := acceptorWrap(t, key, []byte{layerNone | layerIntegrity | layerPrivacy, 0x01, 0x00, 0x00}, 99)
	resp, done, err = m.step(offer)
	if err != nil || !done {
		t.Fatalf("step(offer) = %v, %v", done, err)
	}
	// What the metastore checks: an initiator wrap token, keyed with the
	// session key, counting from the authenticator's sequence number,
	// choosing no security layer and a maximum size of 0.
	var wt gssapi.WrapToken
	if err := wt.Unmarshal(resp, false); err != nil {
		t.Fatal(err)
	}
	if ok, err := wt.Verify(key, keyusage.GSSAPI_INITIATOR_SEAL); !ok {
		t.Fatalf("the choice doesn't verify: %v", err)
	}
	if wt.SndSeqNum != 4711 || string(wt.Payload) != "\x01\x00\x00\x00" {
		t.Fatalf("seq %d, choice %x", wt.SndSeqNum, wt.Payload)
	}
}

func TestGSSAPIOfferRotated(t *testing.T) {
	key := testKey(t)
	tok := acceptorWrap(t, key, []byte{layerNone, 0, 0, 0}, 1)
	// RFC 4121 section 4.2.5: the sender may rotate the data after the
	// header right by RRC bytes.
	const rrc = 12
	body := tok[16:]
	rotated := append(append([]byte(nil), body[len(body)-rrc:]...), body[:len(body)-rrc]...)
	copy(body, rotated)
	tok[6], tok[7] = 0, rrc
	m := afterAPReq(key)
	m.offer = true
	if _, done, err := m.step(tok); err != nil || !done {
		t.Fatalf("rotated offer: %v, %v", done, err)
	}
}

func TestGSSAPIOfferRefused(t *testing.T) {
	key := testKey(t)
	other := testKey(t)
	sealed := acceptorWrap(t, key, []byte{layerNone, 0, 0, 0}, 1)
	sealed[2] |= wrapSealed
	for _, tc := range []struct {
		name  string
		offer []byte
		want  string
	}{
		{"integrity only", acceptorWrap(t, key, []byte{layerIntegrity, 0, 0x10, 0}, 1), "requires SASL QOP auth-int, and landfall supports only auth; set the metastore's hadoop.rpc.protection"},
		{"privacy only", acceptorWrap(t, key, []byte{layerPrivacy | layerIntegrity, 0, 0x10, 0}, 1), "QOP auth-int or auth-conf"},
		{"other key", acceptorWrap(t, other, []byte{layerNone, 0, 0, 0}, 1), "checksum doesn't verify with the ticket's session key"},
		{"sealed", sealed, "encrypted it (QOP auth-conf)"},
		{"short", []byte{0x05, 0x04, 0x01}, "wrap token of 3 bytes, shorter than its 16-byte header"},
		{"long offer", acceptorWrap(t, key, []byte{layerNone, 0, 0, 0, 0}, 1), "offer has 5 bytes, want 4"},
		{"from the initiator", func() []byte { b := acceptorWrap(t, key, []byte{layerNone, 0, 0, 0}, 1); b[2] = 0; return b }(), "expected acceptor flag is not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := afterAPReq(key)
			m.offer = true
			_, _, err := m.step(tc.offer)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestGSSAPIAnswerNotAToken(t *testing.T) {
	m := afterAPReq(testKey(t))
	if _, _, err := m.step([]byte("garbage")); err == nil || !strings.Contains(err.Error(), "the metastore's answer to the AP-REQ") {
		t.Fatalf("err = %v", err)
	}
}

func TestMetastoreSPN(t *testing.T) {
	for _, tc := range []struct{ principal, addr, want string }{
		{"", "metastore-1.example.com:9083", "hive/metastore-1.example.com"},
		{"", "HMS.Example.COM:9083", "hive/hms.example.com"},
		{"hive/_HOST@EXAMPLE.COM", "localhost:9083", "hive/localhost"},
		{"metastore/fixed.example.com@EXAMPLE.COM", "other:9083", "metastore/fixed.example.com"},
		{"hive/_HOST", "[::1]:9083", "hive/::1"},
	} {
		if got := (MetastoreConfig{KerberosPrincipal: tc.principal}).metastoreSPN(tc.addr); got != tc.want {
			t.Errorf("%q at %s: %q, want %q", tc.principal, tc.addr, got, tc.want)
		}
	}
}

func TestKerberosPrincipalValidated(t *testing.T) {
	errs := MetastoreConfig{URIs: []string{"thrift://h:9083"}, KerberosPrincipal: "hive@EXAMPLE.COM"}.validate("hive.metastore", "commit.steps")
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "hive.metastore.kerberos_principal: \"hive@EXAMPLE.COM\": want service/host@REALM") ||
		!strings.Contains(errs[0].Error(), "hive.metastore.kerberos.principal") {
		t.Fatalf("errs = %v", errs)
	}
}
