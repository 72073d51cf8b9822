package hive

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	krb "github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"
)

// The security layers of RFC 4752 section 3.3, as the bits of the
// server's offer and of the client's choice.
const (
	layerNone      byte = 1
	layerIntegrity byte = 2
	layerPrivacy   byte = 4
)

// RFC 4121 wrap token flags (section 4.2.2).
const (
	wrapSentByAcceptor byte = 1
	wrapSealed         byte = 2
	wrapAcceptorSubkey byte = 4
)

// gssapiMech is the client side of SASL GSSAPI (RFC 4752) with the
// Kerberos V5 mechanism (RFC 4121), QOP auth only.
//
// It asks for no mutual authentication (no AP-REP), yet the server is
// still authenticated: its security-layer offer arrives as a wrap token
// whose checksum only a holder of the ticket's session key can make, and
// only the service whose key decrypts the ticket has that.
type gssapiMech struct {
	// ticket returns the service ticket and its session key; the
	// Kerberos client caches tickets and logs in again when its own
	// ran out.
	ticket func() (messages.Ticket, types.EncryptionKey, error)
	// apReq builds the initial context token for a ticket.
	apReq func(tkt messages.Ticket, key types.EncryptionKey) (spnego.KRB5Token, error)

	key    types.EncryptionKey
	seq    uint64 // the client's next wrap sequence number
	subkey bool   // the server's AP-REP gave an acceptor subkey
	offer  bool   // the next challenge is the security-layer offer
}

// newGSSAPIMech asks tickets for spn ("hive/host", no realm) from kc.
func newGSSAPIMech(kc *krb.Client, spn string) *gssapiMech {
	return &gssapiMech{
		ticket: func() (messages.Ticket, types.EncryptionKey, error) { return kc.GetServiceTicket(spn) },
		apReq: func(tkt messages.Ticket, key types.EncryptionKey) (spnego.KRB5Token, error) {
			return spnego.NewKRB5TokenAPREQ(kc, tkt, key, []int{gssapi.ContextFlagInteg, gssapi.ContextFlagConf}, nil)
		},
	}
}

func (m *gssapiMech) name() string { return "GSSAPI" }

// errTicket marks a failure to get the service ticket, which the client
// explains with the principal key.
type errTicket struct{ err error }

func (e *errTicket) Error() string { return e.err.Error() }
func (e *errTicket) Unwrap() error { return e.err }

func (m *gssapiMech) initial() ([]byte, error) {
	tkt, key, err := m.ticket()
	if err != nil {
		return nil, &errTicket{err}
	}
	tok, err := m.apReq(tkt, key)
	if err != nil {
		return nil, fmt.Errorf("gssapi: build the AP-REQ: %w", err)
	}
	// The client's wrap tokens count from the authenticator's sequence
	// number (RFC 4121 section 4.2.6); gokrb5 sealed it in the AP-REQ.
	plain, err := crypto.DecryptEncPart(tok.APReq.EncryptedAuthenticator, key, keyusage.AP_REQ_AUTHENTICATOR)
	if err != nil {
		return nil, fmt.Errorf("gssapi: read back the authenticator: %w", err)
	}
	var auth types.Authenticator
	if err := auth.Unmarshal(plain); err != nil {
		return nil, fmt.Errorf("gssapi: read back the authenticator: %w", err)
	}
	b, err := tok.Marshal()
	if err != nil {
		return nil, fmt.Errorf("gssapi: marshal the AP-REQ: %w", err)
	}
	m.key, m.seq = key, uint64(auth.SeqNumber)
	if auth.SubKey.KeyType != 0 && len(auth.SubKey.KeyValue) > 0 {
		m.key = auth.SubKey
	}
	return b, nil
}

func (m *gssapiMech) step(challenge []byte) ([]byte, bool, error) {
	if !m.offer && !isWrapToken(challenge) {
		// The context token's answer: nothing without mutual
		// authentication, else an AP-REP (or the KDC error the server
		// turned the AP-REQ into).
		if len(challenge) > 0 {
			if err := m.apRep(challenge); err != nil {
				return nil, false, err
			}
		}
		m.offer = true
		return []byte{}, false, nil
	}
	offer, err := m.unwrap(challenge)
	if err != nil {
		return nil, false, fmt.Errorf("gssapi: the metastore's security-layer offer: %w", err)
	}
	if len(offer) != 4 {
		return nil, false, fmt.Errorf("gssapi: the metastore's security-layer offer has %d bytes, want 4", len(offer))
	}
	if offer[0]&layerNone == 0 {
		return nil, false, fmt.Errorf("gssapi: the metastore requires SASL QOP %s, and landfall supports only auth; set the metastore's hadoop.rpc.protection to authentication", qopName(offer[0]))
	}
	// No security layer: the maximum size must be 0 (RFC 4752 section
	// 3.1); no authorization identity, so the server takes the
	// authenticated principal.
	resp, err := m.wrap([]byte{layerNone, 0, 0, 0})
	if err != nil {
		return nil, false, fmt.Errorf("gssapi: wrap the security-layer choice: %w", err)
	}
	return resp, true, nil
}

func qopName(layers byte) string {
	var q []string
	if layers&layerIntegrity != 0 {
		q = append(q, "auth-int")
	}
	if layers&layerPrivacy != 0 {
		q = append(q, "auth-conf")
	}
	if len(q) == 0 {
		return fmt.Sprintf("(none known: offer bits %#x)", layers)
	}
	return strings.Join(q, " or ")
}

func isWrapToken(b []byte) bool { return len(b) >= 2 && b[0] == 0x05 && b[1] == 0x04 }

// apRep takes the server's answer to the AP-REQ: an AP-REP (whose subkey,
// if any, keys the rest) or a KRB-ERROR.
func (m *gssapiMech) apRep(b []byte) error {
	var tok spnego.KRB5Token
	if err := tok.Unmarshal(b); err != nil {
		return fmt.Errorf("gssapi: the metastore's answer to the AP-REQ: %w", err)
	}
	switch {
	case tok.IsKRBError():
		return fmt.Errorf("gssapi: the metastore rejected the AP-REQ: %s", oneLineKRB(tok.KRBError.Error()))
	case tok.IsAPRep():
		plain, err := crypto.DecryptEncPart(tok.APRep.EncPart, m.key, keyusage.AP_REP_ENCPART)
		if err != nil {
			return fmt.Errorf("gssapi: the metastore's AP-REP doesn't decrypt with the session key: %w", err)
		}
		var enc messages.EncAPRepPart
		if err := enc.Unmarshal(plain); err != nil {
			return fmt.Errorf("gssapi: the metastore's AP-REP: %w", err)
		}
		if enc.Subkey.KeyType != 0 && len(enc.Subkey.KeyValue) > 0 {
			m.key, m.subkey = enc.Subkey, true
		}
		return nil
	}
	return errors.New("gssapi: the metastore answered the AP-REQ with neither an AP-REP nor an error")
}

func oneLineKRB(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// unwrap checks an RFC 4121 wrap token from the acceptor and returns its
// payload. Sealed (encrypted) tokens only come with auth-conf.
func (m *gssapiMech) unwrap(b []byte) ([]byte, error) {
	if len(b) < gssapi.HdrLen {
		return nil, fmt.Errorf("wrap token of %d bytes, shorter than its %d-byte header", len(b), gssapi.HdrLen)
	}
	if !isWrapToken(b) {
		return nil, fmt.Errorf("not an RFC 4121 wrap token (token id %#x): the metastore's key must be an AES (or newer) key", b[:2])
	}
	if b[2]&wrapSealed != 0 {
		return nil, errors.New("the metastore encrypted it (QOP auth-conf), which landfall doesn't support")
	}
	// Undo the right rotation (RFC 4121 section 4.2.5) so that the
	// checksum sits at the end, where gokrb5 expects it.
	t := append([]byte(nil), b...)
	if rrc := int(binary.BigEndian.Uint16(t[6:8])); rrc != 0 && len(t) > gssapi.HdrLen {
		body := t[gssapi.HdrLen:]
		rrc %= len(body)
		rotated := append(append([]byte(nil), body[rrc:]...), body[:rrc]...)
		copy(body, rotated)
		binary.BigEndian.PutUint16(t[6:8], 0)
	}
	var wt gssapi.WrapToken
	if err := wt.Unmarshal(t, true); err != nil {
		return nil, err
	}
	if ok, err := wt.Verify(m.key, keyusage.GSSAPI_ACCEPTOR_SEAL); !ok {
		return nil, fmt.Errorf("its checksum doesn't verify with the ticket's session key (is it the service hive.metastore.kerberos_principal names?): %w", err)
	}
	return wt.Payload, nil
}

// wrap makes an RFC 4121 wrap token from the initiator, integrity only.
func (m *gssapiMech) wrap(payload []byte) ([]byte, error) {
	et, err := crypto.GetEtype(m.key.KeyType)
	if err != nil {
		return nil, err
	}
	var flags byte
	if m.subkey {
		flags |= wrapAcceptorSubkey
	}
	wt := gssapi.WrapToken{Flags: flags, EC: uint16(et.GetHMACBitLength() / 8), SndSeqNum: m.seq, Payload: payload}
	if err := wt.SetCheckSum(m.key, keyusage.GSSAPI_INITIATOR_SEAL); err != nil {
		return nil, err
	}
	m.seq++
	return wt.Marshal()
}
