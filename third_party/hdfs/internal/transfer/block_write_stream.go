package transfer

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
	"time"

	hdfs "github.com/colinmarc/hdfs/v2/internal/protocol/hadoop_hdfs"
	"google.golang.org/protobuf/proto"
)

const (
	outboundPacketSize = 65536
	outboundChunkSize  = 512
	maxPacketsInQueue  = 5
	heartbeatSeqno     = -1
	heartbeatInterval  = 30 * time.Second

	// packetHeaderRoom is the room in front of a packet's data for the
	// length prefixes (6 bytes), the PacketHeaderProto (fixed-length fields
	// only, 25 bytes; 27 with syncBlock) and one checksum per chunk.
	maxPacketHeaderLen = 32
	packetHeaderRoom   = 6 + maxPacketHeaderLen + outboundPacketSize/outboundChunkSize*4
)

var castagnoliTable = crc32.MakeTable(crc32.Castagnoli)

// heartbeatPacket is sent every 30 seconds to keep the stream alive. It's
// always the same.
var heartbeatPacket []byte

func init() {
	b, err := proto.Marshal(&hdfs.PacketHeaderProto{
		OffsetInBlock:     proto.Int64(0),
		Seqno:             proto.Int64(heartbeatSeqno),
		LastPacketInBlock: proto.Bool(false),
		DataLen:           proto.Int32(0),
	})

	if err != nil {
		panic(err)
	}

	header := make([]byte, 6)
	binary.BigEndian.PutUint32(header, 4)
	binary.BigEndian.PutUint16(header[4:], uint16(len(b)))
	heartbeatPacket = append(header, b...)
}

// blockWriteStream writes data out to a datanode, and reads acks back.
type blockWriteStream struct {
	block *hdfs.LocatedBlockProto

	conn io.ReadWriter
	// packet is the one packet being filled, reused for every packet: Write
	// copies into it after packetHeaderRoom, and writePacket puts the
	// checksums and headers right in front of the data, so that a packet
	// goes out in one conn.Write without another copy or an allocation. It
	// can be reused as soon as conn.Write returns, because nothing is ever
	// resent (there is no pipeline recovery).
	packet []byte
	// buffered is the number of data bytes in packet.
	buffered int
	offset   int64
	closed   bool

	header       hdfs.PacketHeaderProto
	headerFields struct {
		offset, seqno int64
		last          bool
		dataLen       int32
	}
	headerBytes []byte

	packets chan int
	seqno   int

	ackError        error
	acksDone        chan struct{}
	lastPacketSeqno int

	heartbeats chan struct{}
	writeLock  sync.Mutex
}

type ackError struct {
	pipelineIndex int
	seqno         int
	status        hdfs.Status
}

func (ae ackError) Error() string {
	return fmt.Sprintf("Ack error from datanode: %s", ae.status.String())
}

var ErrInvalidSeqno = errors.New("invalid ack sequence number")

func newBlockWriteStream(conn io.ReadWriter, offset int64) *blockWriteStream {
	s := &blockWriteStream{
		conn:       conn,
		offset:     offset,
		seqno:      1,
		packets:    make(chan int, maxPacketsInQueue),
		acksDone:   make(chan struct{}),
		heartbeats: make(chan struct{}),
	}

	// Send idle heartbeats every 30 seconds.
	go s.writeHeartbeats()

	// Ack packets in the background.
	go func() {
		s.ackPackets()
		close(s.acksDone)
	}()

	return s
}

// func newBlockWriteStreamForRecovery(conn io.ReadWriter, oldWriteStream *blockWriteStream) {
// 	s := &blockWriteStream{
// 		conn: conn,
// 		buf: oldWriteStream.buf,
// 		packets: oldWriteStream.packets,
// 		offset: oldWriteStream.offset,
// 		seqno: oldWriteStream.seqno,
// 		packets
// 	}

// 	go s.ackPackets()
// 	return s
// }

func (s *blockWriteStream) Write(b []byte) (int, error) {
	if s.closed {
		return 0, io.ErrClosedPipe
	}

	if err := s.getAckError(); err != nil {
		return 0, err
	}

	n := 0
	for len(b) > 0 {
		if s.packet == nil {
			s.packet = make([]byte, packetHeaderRoom+outboundPacketSize)
		}
		limit := s.packetLimit()
		c := copy(s.packet[packetHeaderRoom+s.buffered:packetHeaderRoom+limit], b)
		s.buffered += c
		n += c
		b = b[c:]
		if s.buffered == limit {
			if err := s.flush(); err != nil {
				return n, err
			}
		}
	}

	return n, nil
}

// packetLimit is the size of the packet being filled. If we're starting from
// a weird offset (usually because of an Append), HDFS gets unhappy unless we
// first align to a chunk boundary with a small packet. Otherwise it yells at
// us with "a partial chunk must be sent in an individual packet" or just
// complains about a corrupted block.
func (s *blockWriteStream) packetLimit() int {
	if alignment := int(s.offset % outboundChunkSize); alignment > 0 {
		return outboundChunkSize - alignment
	}

	return outboundPacketSize
}

// finish flushes the rest of the buffered bytes, and then sends a final empty
// packet signifying the end of the block.
func (s *blockWriteStream) finish() error {
	if s.closed {
		return nil
	}
	s.closed = true

	// Stop sending heartbeats.
	close(s.heartbeats)

	if err := s.getAckError(); err != nil {
		return err
	}

	if err := s.flush(); err != nil {
		return err
	}

	// The last packet has no data; it's just a marker that the block is finished.
	s.packets <- s.seqno
	s.writeLock.Lock()
	err := s.writePacket(true)
	s.writeLock.Unlock()
	if err != nil {
		return err
	}

	// Wait for the ack loop to finish.
	close(s.packets)
	<-s.acksDone

	// Check one more time for any ack errors.
	if err := s.getAckError(); err != nil {
		return err
	}

	return nil
}

// flush sends the buffered bytes, if any, as a packet to the datanode.
// Write sends every packet as soon as it is full, so only the last one of a
// flush can be partial.
func (s *blockWriteStream) flush() error {
	s.writeLock.Lock()
	defer s.writeLock.Unlock()

	if s.buffered == 0 {
		return nil
	}

	s.packets <- s.seqno
	if err := s.writePacket(false); err != nil {
		return err
	}

	s.offset += int64(s.buffered)
	s.seqno++
	s.buffered = 0
	return nil
}

// ackPackets is meant to run in the background, reading acks and setting
// ackError if one fails.
func (s *blockWriteStream) ackPackets() {
	reader := bufio.NewReader(s.conn)

Acks:
	for {
		p, ok := <-s.packets
		if !ok {
			// All packets all acked.
			return
		}

		var seqno int
		for {
			// If we fail to read the ack at all, that counts as a failure from the
			// first datanode (the one we're connected to).
			ack := &hdfs.PipelineAckProto{}
			err := readPrefixedMessage(reader, ack)
			if err != nil {
				s.ackError = err
				break Acks
			}

			seqno = int(ack.GetSeqno())

			for i, status := range ack.GetReply() {
				if status != hdfs.Status_SUCCESS {
					s.ackError = ackError{status: status, seqno: seqno, pipelineIndex: i}
					break Acks
				}
			}

			if seqno != heartbeatSeqno {
				break
			}
		}

		if seqno != p {
			s.ackError = ErrInvalidSeqno
			break Acks
		}
	}

	// Once we've seen an error, just keep reading packets off the channel (but
	// not off the socket) until the writing thread figures it out. If we don't,
	// the upstream thread could deadlock waiting for the channel to have space.
	for range s.packets {
	}
}

func (s *blockWriteStream) getAckError() error {
	select {
	case <-s.acksDone:
		if s.ackError != nil {
			return s.ackError
		}
	default:
	}

	return nil
}

// A packet for the datanode:
// +-----------------------------------------------------------+
// |  uint32 length of the packet                              |
// +-----------------------------------------------------------+
// |  size of the PacketHeaderProto, uint16                    |
// +-----------------------------------------------------------+
// |  PacketHeaderProto                                        |
// +-----------------------------------------------------------+
// |  N checksums, 4 bytes each                                |
// +-----------------------------------------------------------+
// |  N chunks of payload data                                 |
// +-----------------------------------------------------------+
//
// The packet is assembled backwards in s.packet, in front of the buffered
// data, and written with one call. The caller holds writeLock.
func (s *blockWriteStream) writePacket(last bool) error {
	if s.packet == nil {
		s.packet = make([]byte, packetHeaderRoom+outboundPacketSize)
	}
	data := s.packet[packetHeaderRoom : packetHeaderRoom+s.buffered]

	// Fill in the checksum for each chunk of data.
	numChunks := (len(data) + outboundChunkSize - 1) / outboundChunkSize
	checksumsStart := packetHeaderRoom - numChunks*4
	for i := 0; i < numChunks; i++ {
		chunkOff := i * outboundChunkSize
		chunkEnd := chunkOff + outboundChunkSize
		if chunkEnd > len(data) {
			chunkEnd = len(data)
		}

		checksum := crc32.Checksum(data[chunkOff:chunkEnd], castagnoliTable)
		binary.BigEndian.PutUint32(s.packet[checksumsStart+i*4:], checksum)
	}

	// The header message's fields point into s.headerFields, and it is
	// marshaled into s.headerBytes, so that none of it allocates per packet.
	f := &s.headerFields
	f.offset, f.seqno, f.last, f.dataLen = s.offset, int64(s.seqno), last, int32(len(data))
	s.header.OffsetInBlock, s.header.Seqno = &f.offset, &f.seqno
	s.header.LastPacketInBlock, s.header.DataLen = &f.last, &f.dataLen
	infoBytes, err := proto.MarshalOptions{}.MarshalAppend(s.headerBytes[:0], &s.header)
	if err != nil {
		return err
	}
	s.headerBytes = infoBytes
	if len(infoBytes) > maxPacketHeaderLen {
		return fmt.Errorf("packet header of %d bytes is larger than %d", len(infoBytes), maxPacketHeaderLen)
	}

	// Don't ask me why this doesn't include the header proto...
	totalLength := len(data) + numChunks*4 + 4

	start := checksumsStart - len(infoBytes) - 6
	binary.BigEndian.PutUint32(s.packet[start:], uint32(totalLength))
	binary.BigEndian.PutUint16(s.packet[start+4:], uint16(len(infoBytes)))
	copy(s.packet[start+6:], infoBytes)

	_, err = s.conn.Write(s.packet[start : packetHeaderRoom+len(data)])
	return err
}

func (s *blockWriteStream) writeHeartbeats() {
	ticker := time.NewTicker(heartbeatInterval)
	defer ticker.Stop()

	for {
		select {
		case <-ticker.C:
			s.writeLock.Lock()
			s.conn.Write(heartbeatPacket)
			s.writeLock.Unlock()
		case <-s.heartbeats:
			return
		}
	}
}
