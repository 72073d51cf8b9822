package hive

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
)

func frame(status byte, payload string) []byte {
	var b bytes.Buffer
	_ = writeSASLFrame(&b, status, []byte(payload))
	return b.Bytes()
}

func TestReadSASLFrame(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want string // error substring; empty: ok
	}{
		{"ok", frame(saslOK, "abc"), ""},
		{"empty payload", frame(saslComplete, ""), ""},
		{"nothing", nil, "unexpected EOF"},
		{"short header", []byte{saslOK, 0, 0}, "unexpected EOF"},
		{"short payload", frame(saslOK, "abcdef")[:8], "read sasl OK frame of 6 bytes: unexpected EOF"},
		{"unknown status", append([]byte{9}, frame(saslOK, "x")[1:]...), "unknown status 9"},
		{"plain thrift reply", []byte{0x80, 0x01, 0x00, 0x02, 0, 0, 0, 0}, "unknown status 128"},
		{"too long", []byte{saslOK, 0x7f, 0xff, 0xff, 0xff}, "more than the 1048576 a negotiation frame may have"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readSASLFrame(bytes.NewReader(tc.in), maxNegotiationFrame)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestReadDataFrame(t *testing.T) {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0, 3})
	b.WriteString("abc")
	got, err := readDataFrame(&b, 10)
	if err != nil || string(got) != "abc" {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := readDataFrame(&b, 10); err != io.EOF {
		t.Fatalf("at the end between frames: %v, want io.EOF", err)
	}
	if _, err := readDataFrame(bytes.NewReader([]byte{0, 0, 1}), 10); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short header: %v", err)
	}
	if _, err := readDataFrame(bytes.NewReader([]byte{0, 0, 0, 5, 'a'}), 10); err == nil || !strings.Contains(err.Error(), "frame of 5 bytes: unexpected EOF") {
		t.Fatalf("short frame: %v", err)
	}
	if _, err := readDataFrame(bytes.NewReader([]byte{0xff, 0, 0, 0}), 10); err == nil || !strings.Contains(err.Error(), "the stream is broken") {
		t.Fatalf("huge frame: %v", err)
	}
}

// FuzzReadSASLFrame: any bytes give a frame that round-trips, or an
// error; never a panic or a payload beyond the limit.
func FuzzReadSASLFrame(f *testing.F) {
	f.Add(frame(saslOK, "abc"))
	f.Add(frame(saslComplete, ""))
	f.Add([]byte{saslBad, 0, 0, 0, 5, 'e', 'r'})
	f.Add([]byte{saslOK, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		status, payload, err := readSASLFrame(bytes.NewReader(b), 1024)
		if err != nil {
			return
		}
		if len(payload) > 1024 {
			t.Fatalf("payload of %d bytes beyond the limit", len(payload))
		}
		if got := frame(status, string(payload)); !bytes.Equal(got, b[:len(got)]) {
			t.Fatalf("frame %x doesn't round-trip: %x", b, got)
		}
	})
}

// FuzzSASLTransportRead: the transport's reader takes any stream apart
// into at most limit-sized frames or fails cleanly.
func FuzzSASLTransportRead(f *testing.F) {
	f.Add([]byte{0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 0, 0, 0, 0, 1, 'd'})
	f.Add([]byte{0, 0, 0})
	f.Add([]byte{0x80, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		var total int
		for {
			p, err := readDataFrame(r, 1024)
			if err != nil {
				break
			}
			if len(p) > 1024 {
				t.Fatalf("frame of %d bytes beyond the limit", len(p))
			}
			total += 4 + len(p)
		}
		if total > len(b) {
			t.Fatalf("read %d bytes of frames from %d", total, len(b))
		}
	})
}

// scriptMech answers each challenge with the next response of a script.
type scriptMech struct {
	first string
	resps []string
	seen  []string
}

func (m *scriptMech) name() string             { return "TEST" }
func (m *scriptMech) initial() ([]byte, error) { return []byte(m.first), nil }
func (m *scriptMech) step(c []byte) ([]byte, bool, error) {
	m.seen = append(m.seen, string(c))
	r := m.resps[0]
	m.resps = m.resps[1:]
	return []byte(r), len(m.resps) == 0, nil
}

// fakeServer reads the client's frames and answers with replies, one per
// client frame after START; it returns what the client sent.
func fakeServer(t *testing.T, nc net.Conn, replies [][]byte) chan []string {
	out := make(chan []string, 1)
	go func() {
		var got []string
		defer func() { out <- got }()
		r := bufio.NewReader(nc)
		st, p, err := readSASLFrame(r, 1<<20)
		if err != nil {
			return
		}
		got = append(got, statusName(st)+" "+string(p))
		for _, reply := range replies {
			st, p, err := readSASLFrame(r, 1<<20)
			if err != nil {
				return
			}
			got = append(got, statusName(st)+" "+string(p))
			if _, err := nc.Write(reply); err != nil {
				return
			}
		}
	}()
	return out
}

func TestSASLNegotiate(t *testing.T) {
	cc, sc := net.Pipe()
	defer cc.Close()
	defer sc.Close()
	srv := fakeServer(t, sc, [][]byte{frame(saslOK, "c1"), frame(saslOK, "c2"), frame(saslComplete, "")})
	m := &scriptMech{first: "r0", resps: []string{"r1", "r2"}}
	rw := bufio.NewReadWriter(bufio.NewReader(cc), bufio.NewWriter(cc))
	if err := saslNegotiate(rw, m); err != nil {
		t.Fatal(err)
	}
	got := <-srv
	want := []string{"START TEST", "OK r0", "OK r1", "COMPLETE r2"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("client sent %q, want %q", got, want)
	}
	if strings.Join(m.seen, "|") != "c1|c2" {
		t.Fatalf("mechanism saw %q", m.seen)
	}
}

func TestSASLNegotiateRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		replies [][]byte
		want    string
	}{
		{"bad", [][]byte{frame(saslBad, "GSS initiate failed\x00\n")}, `refused the sasl negotiation (BAD): "GSS initiate failed??"`},
		{"error", [][]byte{frame(saslOK, "c1"), frame(saslError, "Peer indicated failure")}, "(ERROR)"},
		{"complete early", [][]byte{frame(saslComplete, "")}, "COMPLETE before the security layer was agreed"},
		{"start from server", [][]byte{frame(saslStart, "x")}, "unexpected START frame"},
		{"closed", [][]byte{{saslOK, 0, 0}}, "unexpected EOF (a metastore without hive.metastore.sasl.enabled closes the connection here)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc, sc := net.Pipe()
			defer cc.Close()
			srv := fakeServer(t, sc, tc.replies)
			go func() { <-srv; sc.Close() }()
			m := &scriptMech{first: "r0", resps: []string{"r1", "r2"}}
			err := saslNegotiate(bufio.NewReadWriter(bufio.NewReader(cc), bufio.NewWriter(cc)), m)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestSASLTransport(t *testing.T) {
	cc, sc := net.Pipe()
	defer cc.Close()
	defer sc.Close()
	tr := newSASLTransport(cc, bufio.NewReadWriter(bufio.NewReader(cc), bufio.NewWriter(cc)))
	go func() {
		// Echo each frame back split in two frames, as a server may.
		r := bufio.NewReader(sc)
		for {
			p, err := readDataFrame(r, 1<<20)
			if err != nil {
				return
			}
			for _, half := range [][]byte{p[:len(p)/2], p[len(p)/2:]} {
				var hdr [4]byte
				binary.BigEndian.PutUint32(hdr[:], uint32(len(half)))
				if _, err := sc.Write(append(hdr[:], half...)); err != nil {
					return
				}
			}
		}
	}()
	_, _ = tr.Write([]byte("hello "))
	_, _ = tr.Write([]byte("metastore"))
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len("hello metastore"))
	if _, err := io.ReadFull(tr, got); err != nil || string(got) != "hello metastore" {
		t.Fatalf("read %q, %v", got, err)
	}
}
