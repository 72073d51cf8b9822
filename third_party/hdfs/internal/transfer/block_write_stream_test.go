package transfer

import "testing"

type discardConn struct{}

func (discardConn) Read([]byte) (int, error)    { select {} }
func (discardConn) Write(b []byte) (int, error) { return len(b), nil }

// TestWriteDoesNotAllocatePerPacket pins that a packet is assembled in one
// reused buffer: before, every 64 KiB packet allocated its checksums, its
// header message and a fresh buffer of the whole packet, into which the
// data was copied a second time.
func TestWriteDoesNotAllocatePerPacket(t *testing.T) {
	bws := &blockWriteStream{conn: discardConn{}, packets: make(chan int, 1)}
	data := make([]byte, outboundPacketSize)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := bws.Write(data); err != nil {
			t.Fatal(err)
		}
		<-bws.packets
	})
	if allocs != 0 {
		t.Errorf("Write of a full packet allocated %v times, want 0", allocs)
	}
}

func BenchmarkWritePacket(b *testing.B) {
	bws := &blockWriteStream{conn: discardConn{}, packets: make(chan int, 1)}
	data := make([]byte, outboundPacketSize)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := bws.Write(data); err != nil {
			b.Fatal(err)
		}
		<-bws.packets
	}
}
