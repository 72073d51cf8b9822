package state

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/klauspost/compress/zstd"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// How a checkpoint is laid out in etcd (version 2). The checkpoint key
// holds a small head; the checkpoint itself, JSON compressed with zstd, is
// inline in the head when it is small, else in chunk keys under
// <logid>/body/<seq>/ that are written (each under the ownership
// condition) before the head that names them. The head's write is the
// commit point and deletes the chunks of every older checkpoint in the same
// transaction, so no request, and no value, grows with the state: a
// backlog that opens 10,000 Hive partitions at once costs more chunks, not
// a bigger request. Version 1 stored the checkpoint as plain JSON in the
// head key; Load still reads it.
type head struct {
	Version int    `json:"v"`
	Seq     uint64 `json:"seq"`
	// Body is the compressed checkpoint when it fits inline.
	Body []byte `json:"body,omitempty"`
	// Chunks, Size and Sum describe a body stored in chunk keys.
	Chunks int    `json:"chunks,omitempty"`
	Size   int    `json:"size,omitempty"`
	Sum    string `json:"sha256,omitempty"`
}

// chunkSize bounds every value and request landfall sends to etcd, far
// below etcd's default request limit (1.5 MiB) and leaving room for the
// transaction around it.
const chunkSize = 512 << 10

var (
	zenc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	zdec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
)

// layout names a logid's keys.
type layout struct{ base string }

func (l layout) head() string                   { return l.base + "/checkpoint" }
func (l layout) bodies() string                 { return l.base + "/body/" }
func (l layout) body(seq uint64) string         { return fmt.Sprintf("%s%020d/", l.bodies(), seq) }
func (l layout) chunk(seq uint64, i int) string { return fmt.Sprintf("%s%06d", l.body(seq), i) }
func (l layout) processes() string              { return l.base + "/process/" }
func (l layout) process(id clientv3.LeaseID) string {
	return fmt.Sprintf("%s%x", l.processes(), int64(id))
}

// encodeStored returns the head value and the chunks (nil when inline) of
// cp.
func encodeStored(cp *Checkpoint) (headVal []byte, chunks [][]byte, err error) {
	b, err := Encode(cp)
	if err != nil {
		return nil, nil, err
	}
	z := zenc.EncodeAll(b, nil)
	h := head{Version: Version, Seq: cp.Seq}
	if len(z) <= chunkSize {
		h.Body = z
	} else {
		sum := sha256.Sum256(z)
		h.Size, h.Sum = len(z), hex.EncodeToString(sum[:])
		for len(z) > 0 {
			n := min(len(z), chunkSize)
			chunks = append(chunks, z[:n])
			z = z[n:]
		}
		h.Chunks = len(chunks)
	}
	headVal, err = json.Marshal(h)
	if err != nil {
		return nil, nil, fmt.Errorf("state: encode checkpoint head: %w", err)
	}
	return headVal, chunks, nil
}

// decodeStored decodes a head value; chunks fetches the chunk values of a
// chunked body in key order.
func decodeStored(headVal []byte, chunks func(seq uint64) ([][]byte, error)) (*Checkpoint, error) {
	var h head
	if err := json.Unmarshal(headVal, &h); err != nil {
		return nil, fmt.Errorf("%w: head: %v", ErrCorrupt, err)
	}
	if h.Version == 1 {
		return Decode(headVal)
	}
	if h.Version < 1 || h.Version > Version {
		return nil, fmt.Errorf("%w: version %d, this build reads up to %d", ErrCorrupt, h.Version, Version)
	}
	z := h.Body
	if h.Chunks > 0 {
		cs, err := chunks(h.Seq)
		if err != nil {
			return nil, err
		}
		if len(cs) < h.Chunks {
			return nil, fmt.Errorf("%w: checkpoint %d has %d of its %d chunks", ErrCorrupt, h.Seq, len(cs), h.Chunks)
		}
		z = make([]byte, 0, h.Size)
		for _, c := range cs[:h.Chunks] {
			z = append(z, c...)
		}
		sum := sha256.Sum256(z)
		if len(z) != h.Size || hex.EncodeToString(sum[:]) != h.Sum {
			return nil, fmt.Errorf("%w: checkpoint %d: chunks don't match the head's size and checksum", ErrCorrupt, h.Seq)
		}
	}
	b, err := zdec.DecodeAll(z, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: checkpoint %d: %v", ErrCorrupt, h.Seq, err)
	}
	cp, err := Decode(b)
	if err != nil {
		return nil, err
	}
	if cp.Seq != h.Seq {
		return nil, fmt.Errorf("%w: head says checkpoint %d, body %d", ErrCorrupt, h.Seq, cp.Seq)
	}
	return cp, nil
}

func load(ctx context.Context, cli *clientv3.Client, l layout) (*Checkpoint, error) {
	resp, err := cli.Get(ctx, l.head())
	if err != nil {
		return nil, fmt.Errorf("state: load checkpoint: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return nil, nil
	}
	return decodeStored(resp.Kvs[0].Value, func(seq uint64) ([][]byte, error) {
		// At the head's revision: a reader that is not the owner (Peek)
		// must not see the chunks of a newer checkpoint, or none.
		cr, err := cli.Get(ctx, l.body(seq), clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision))
		if err != nil {
			return nil, fmt.Errorf("state: load checkpoint %d chunks: %w", seq, err)
		}
		sort.Slice(cr.Kvs, func(i, j int) bool { return string(cr.Kvs[i].Key) < string(cr.Kvs[j].Key) })
		out := make([][]byte, len(cr.Kvs))
		for i, kv := range cr.Kvs {
			out[i] = kv.Value
		}
		return out, nil
	})
}
