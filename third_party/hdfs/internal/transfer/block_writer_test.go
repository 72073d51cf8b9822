package transfer

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math/rand"
	"testing"

	hdfs "github.com/colinmarc/hdfs/v2/internal/protocol/hadoop_hdfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

// recordingConn keeps a copy of every Write: one packet each.
type recordingConn struct {
	bytes.Buffer
	writes [][]byte
}

func (c *recordingConn) Write(b []byte) (int, error) {
	c.writes = append(c.writes, append([]byte(nil), b...))
	return len(b), nil
}

type sentPacket struct {
	header *hdfs.PacketHeaderProto
	data   []byte
}

// parsePacket decodes one packet and checks its lengths and checksums.
func parsePacket(t *testing.T, b []byte) sentPacket {
	t.Helper()
	require.GreaterOrEqual(t, len(b), 6)
	total := int(binary.BigEndian.Uint32(b))
	headerLen := int(binary.BigEndian.Uint16(b[4:]))
	require.Equal(t, len(b), 6+headerLen+total-4, "packet length")
	header := &hdfs.PacketHeaderProto{}
	require.NoError(t, proto.Unmarshal(b[6:6+headerLen], header))
	rest := b[6+headerLen:]
	data := rest[len(rest)-int(header.GetDataLen()):]
	sums := rest[:len(rest)-len(data)]
	numChunks := (len(data) + outboundChunkSize - 1) / outboundChunkSize
	require.Equal(t, numChunks*4, len(sums), "checksums")
	for i := 0; i < numChunks; i++ {
		end := (i + 1) * outboundChunkSize
		if end > len(data) {
			end = len(data)
		}
		want := crc32.Checksum(data[i*outboundChunkSize:end], crc32.MakeTable(crc32.Castagnoli))
		assert.Equal(t, want, binary.BigEndian.Uint32(sums[i*4:]), "checksum of chunk %d", i)
	}
	return sentPacket{header, data}
}

func TestPacketSize(t *testing.T) {
	conn := &recordingConn{}
	bws := &blockWriteStream{conn: conn, packets: make(chan int, 10)}
	_, err := bws.Write(make([]byte, outboundPacketSize*3))
	require.NoError(t, err)

	require.Len(t, conn.writes, 3)
	for _, w := range conn.writes {
		assert.EqualValues(t, outboundPacketSize, len(parsePacket(t, w).data))
	}
}

func TestPacketSizeUndersize(t *testing.T) {
	conn := &recordingConn{}
	bws := &blockWriteStream{conn: conn, packets: make(chan int, 10)}
	_, err := bws.Write(make([]byte, outboundPacketSize-5))
	require.NoError(t, err)
	assert.Empty(t, conn.writes, "a partial packet waits for more data")

	require.NoError(t, bws.flush())
	require.Len(t, conn.writes, 1)
	assert.EqualValues(t, outboundPacketSize-5, len(parsePacket(t, conn.writes[0]).data))
}

func TestPacketSizeAlignment(t *testing.T) {
	conn := &recordingConn{}
	bws := &blockWriteStream{conn: conn, packets: make(chan int, 10), offset: 5}
	_, err := bws.Write(make([]byte, outboundPacketSize*3))
	require.NoError(t, err)

	require.NotEmpty(t, conn.writes)
	assert.EqualValues(t, outboundChunkSize-5, len(parsePacket(t, conn.writes[0]).data))
	assert.EqualValues(t, outboundPacketSize, len(parsePacket(t, conn.writes[1]).data))
}

// TestPacketStream checks what goes on the wire for writes of odd sizes:
// the data in order, offsets and sequence numbers that follow each other,
// and a last, empty packet.
func TestPacketStream(t *testing.T) {
	conn := &recordingConn{}
	bws := &blockWriteStream{conn: conn, packets: make(chan int, 100), offset: 1000, seqno: 1}
	rng := rand.New(rand.NewSource(1))
	want := make([]byte, 5*outboundPacketSize+777)
	rng.Read(want)
	for b := want; len(b) > 0; {
		n := rng.Intn(3*outboundPacketSize/2) + 1
		if n > len(b) {
			n = len(b)
		}
		_, err := bws.Write(b[:n])
		require.NoError(t, err)
		b = b[n:]
	}
	require.NoError(t, bws.flush())
	require.NoError(t, bws.writePacket(true))

	var got []byte
	offset := int64(1000)
	for i, w := range conn.writes {
		p := parsePacket(t, w)
		last := i == len(conn.writes)-1
		assert.Equal(t, offset, p.header.GetOffsetInBlock(), "packet %d", i)
		assert.EqualValues(t, i+1, p.header.GetSeqno(), "packet %d", i)
		assert.Equal(t, last, p.header.GetLastPacketInBlock(), "packet %d", i)
		if last {
			assert.Empty(t, p.data)
		}
		got = append(got, p.data...)
		offset += int64(len(p.data))
	}
	assert.True(t, bytes.Equal(want, got), "data on the wire differs from the data written")
}
