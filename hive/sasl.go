package hive

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
)

// A Kerberized metastore (hive.metastore.sasl.enabled) speaks Thrift over
// SASL, as Hive's TSaslClientTransport does: first a negotiation of frames
//
//	status (1 byte) | length (4 bytes, big-endian) | payload
//
// whose first frame is START with the mechanism's name, then, once both
// sides said COMPLETE, every Thrift message travels as
//
//	length (4 bytes, big-endian) | payload
//
// With QOP auth (hadoop.rpc.protection=authentication, the default) the
// payload is the plain message; integrity and privacy would wrap it with
// GSS Wrap, which landfall refuses at negotiation (see gssapi.go).

// The negotiation statuses of Thrift's SASL transport.
const (
	saslStart    byte = 1
	saslOK       byte = 2
	saslBad      byte = 3
	saslError    byte = 4
	saslComplete byte = 5
)

const (
	// maxNegotiationFrame bounds a negotiation frame: Kerberos tokens are
	// a few KiB (more with a big PAC), never megabytes.
	maxNegotiationFrame = 1 << 20
	// maxDataFrame bounds one Thrift message from the metastore. The
	// partition list of a big table is the largest reply landfall asks
	// for; a length beyond this is a broken stream, not a reply.
	maxDataFrame = 256 << 20
)

func statusName(s byte) string {
	switch s {
	case saslStart:
		return "START"
	case saslOK:
		return "OK"
	case saslBad:
		return "BAD"
	case saslError:
		return "ERROR"
	case saslComplete:
		return "COMPLETE"
	}
	return fmt.Sprintf("unknown status %d", s)
}

// writeSASLFrame writes one negotiation frame.
func writeSASLFrame(w io.Writer, status byte, payload []byte) error {
	var hdr [5]byte
	hdr[0] = status
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(payload)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

// readSASLFrame reads one negotiation frame of at most max payload bytes.
func readSASLFrame(r io.Reader, max int) (status byte, payload []byte, err error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, fmt.Errorf("read sasl negotiation header: %w", noEOF(err))
	}
	status = hdr[0]
	if status < saslStart || status > saslComplete {
		return 0, nil, fmt.Errorf("sasl negotiation: the metastore answered with %s, not a SASL frame; is hive.metastore.sasl.enabled on at the metastore?", statusName(status))
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if uint64(n) > uint64(max) {
		return 0, nil, fmt.Errorf("sasl negotiation: %s frame of %d bytes, more than the %d a negotiation frame may have", statusName(status), n, max)
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, fmt.Errorf("read sasl %s frame of %d bytes: %w", statusName(status), n, noEOF(err))
	}
	return status, payload, nil
}

// noEOF makes a stream that ends inside a frame say so.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// saslMech is one side of a SASL mechanism, so that the negotiation can be
// tested without a KDC.
type saslMech interface {
	name() string
	// initial is the client's first response, sent with START.
	initial() ([]byte, error)
	// step answers a challenge; done says the client has nothing more to
	// send after this response.
	step(challenge []byte) (resp []byte, done bool, err error)
}

// SASLRefusedError is the metastore refusing the SASL negotiation (a BAD or
// ERROR frame), with the metastore's own words. Retrying doesn't help:
// the principal, the keytab or the metastore's configuration is wrong.
type SASLRefusedError struct {
	Status  string
	Message string
}

func (e *SASLRefusedError) Error() string {
	return fmt.Sprintf("the metastore refused the sasl negotiation (%s): %q", e.Status, e.Message)
}

// mechError is the mechanism failing on what the server sent (a token
// that doesn't verify, a security layer landfall can't do): like a
// refusal, retrying doesn't help.
type mechError struct{ err error }

func (e *mechError) Error() string { return e.err.Error() }
func (e *mechError) Unwrap() error { return e.err }

func asMechError(err error) error {
	var te *errTicket
	if errors.As(err, &te) {
		return err
	}
	return &mechError{err}
}

// saslNegotiate runs the client side of the negotiation on rw, which must
// be buffered (frames are flushed at each turn).
func saslNegotiate(rw *bufio.ReadWriter, m saslMech) error {
	resp, err := m.initial()
	if err != nil {
		return asMechError(err)
	}
	if err := writeSASLFrame(rw, saslStart, []byte(m.name())); err != nil {
		return fmt.Errorf("send sasl START: %w", err)
	}
	if err := writeSASLFrame(rw, saslOK, resp); err != nil {
		return fmt.Errorf("send sasl initial response: %w", err)
	}
	if err := rw.Flush(); err != nil {
		return fmt.Errorf("send sasl initial response: %w", err)
	}
	for first, done := true, false; ; first = false {
		status, challenge, err := readSASLFrame(rw, maxNegotiationFrame)
		if first && errors.Is(err, io.ErrUnexpectedEOF) {
			// Not a refusal: a metastore restarting closes too.
			return fmt.Errorf("%w (a metastore without hive.metastore.sasl.enabled closes the connection here)", err)
		}
		if err != nil {
			return err
		}
		switch status {
		case saslBad, saslError:
			return &SASLRefusedError{Status: statusName(status), Message: printable(challenge)}
		case saslComplete:
			if !done {
				// The server is satisfied before the client verified it
				// (the offer is what proves the server knew the key).
				return errors.New("sasl negotiation: the metastore said COMPLETE before the security layer was agreed")
			}
			return nil
		case saslOK:
		default:
			return fmt.Errorf("sasl negotiation: unexpected %s frame from the metastore", statusName(status))
		}
		if done {
			return errors.New("sasl negotiation: the metastore sent another challenge after the client's last response")
		}
		resp, done, err = m.step(challenge)
		if err != nil {
			return asMechError(err)
		}
		status = saslOK
		if done {
			status = saslComplete
		}
		if err := writeSASLFrame(rw, status, resp); err != nil {
			return fmt.Errorf("send sasl response: %w", err)
		}
		if err := rw.Flush(); err != nil {
			return fmt.Errorf("send sasl response: %w", err)
		}
	}
}

// printable keeps an error message from the server to printable ASCII of
// reasonable length, so that a broken stream can't flood the log.
func printable(b []byte) string {
	const max = 512
	if len(b) > max {
		b = b[:max]
	}
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		out[i] = c
	}
	return string(out)
}

// saslTransport is the Thrift transport after the negotiation (QOP auth):
// writes collect until Flush, which sends them as one length-prefixed
// frame; reads take frames apart. It implements thrift.TTransport.
type saslTransport struct {
	nc   net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	wbuf []byte
	rbuf []byte // the rest of the frame being read
}

func newSASLTransport(nc net.Conn, rw *bufio.ReadWriter) *saslTransport {
	return &saslTransport{nc: nc, r: rw.Reader, w: rw.Writer}
}

func (t *saslTransport) Open() error  { return nil }
func (t *saslTransport) IsOpen() bool { return true }
func (t *saslTransport) Close() error { return t.nc.Close() }

func (t *saslTransport) Write(p []byte) (int, error) {
	t.wbuf = append(t.wbuf, p...)
	return len(p), nil
}

func (t *saslTransport) Flush(context.Context) error {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(t.wbuf)))
	_, err := t.w.Write(hdr[:])
	if err == nil {
		_, err = t.w.Write(t.wbuf)
	}
	if err == nil {
		err = t.w.Flush()
	}
	// A big request must not keep its buffer for the connection's life.
	if cap(t.wbuf) > 64<<10 {
		t.wbuf = nil
	} else {
		t.wbuf = t.wbuf[:0]
	}
	if err != nil {
		return fmt.Errorf("send sasl frame: %w", err)
	}
	return nil
}

func (t *saslTransport) Read(p []byte) (int, error) {
	for len(t.rbuf) == 0 {
		b, err := readDataFrame(t.r, maxDataFrame)
		if err != nil {
			return 0, err
		}
		t.rbuf = b
	}
	n := copy(p, t.rbuf)
	t.rbuf = t.rbuf[n:]
	return n, nil
}

// RemainingBytes is unknown, as for a stream: more frames may follow the
// one being read.
func (t *saslTransport) RemainingBytes() uint64 { return ^uint64(0) }

// readDataFrame reads one length-prefixed frame of at most max bytes.
func readDataFrame(r io.Reader, max int) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("read sasl frame header: %w", err)
		}
		return nil, err // io.EOF between frames: the metastore closed
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if uint64(n) > uint64(max) {
		return nil, fmt.Errorf("sasl frame of %d bytes, more than the %d a reply may have: the stream is broken", n, max)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("read sasl frame of %d bytes: %w", n, noEOF(err))
	}
	return b, nil
}
