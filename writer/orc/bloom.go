package orc

import (
	"encoding/binary"
	"math"
	"math/bits"

	"github.com/landfall/landfall/writer/orc/spec"
)

// bloomFilter is one row group's bloom filter as Apache ORC defines it
// (BLOOM_FILTER_UTF8): a bit set of m bits, k probes derived from one 64-bit
// hash (Murmur3's 64-bit variant for strings, Thomas Wang's integer hash for
// numbers), little-endian bytes. A reader that skips row groups by it must
// compute the same hashes, so every detail here is the spec's.
type bloomFilter struct {
	bits []uint64
	k    int
}

func (b *bloomFilter) reset(n int, fpp float64) {
	if n < 1 {
		n = 1
	}
	m := int(math.Ceil(-float64(n) * math.Log(fpp) / (math.Ln2 * math.Ln2)))
	words := (m + 63) / 64
	m = words * 64
	k := int(math.Round(float64(m) / float64(n) * math.Ln2))
	b.k = max(1, k)
	if cap(b.bits) < words {
		b.bits = make([]uint64, words)
	}
	b.bits = b.bits[:words]
	clear(b.bits)
}

func (b *bloomFilter) addHash(h uint64) {
	h1 := int32(h)
	h2 := int32(h >> 32)
	m := int32(len(b.bits) * 64)
	for i := int32(1); i <= int32(b.k); i++ {
		combined := h1 + i*h2
		if combined < 0 {
			combined = ^combined
		}
		pos := combined % m
		b.bits[pos>>6] |= 1 << uint(pos&63)
	}
}

func (b *bloomFilter) proto() spec.BloomFilter {
	out := make([]byte, 8*len(b.bits))
	for i, w := range b.bits {
		binary.LittleEndian.PutUint64(out[8*i:], w)
	}
	return spec.BloomFilter{NumHashFunctions: uint32(b.k), UTF8Bitset: out}
}

func (b *bloomFilter) addValues(c *column, from, to int) {
	switch c.t.Kind {
	case spec.TypeByte, spec.TypeShort, spec.TypeInt, spec.TypeLong, spec.TypeDate:
		for _, v := range c.ints[from:to] {
			b.addHash(thomasWang64(uint64(v)))
		}
	case spec.TypeBoolean:
		for _, v := range c.ints[from:to] {
			b.addHash(thomasWang64(uint64(v)))
		}
	case spec.TypeFloat, spec.TypeDouble:
		for _, v := range c.floats[from:to] {
			b.addHash(thomasWang64(math.Float64bits(v)))
		}
	case spec.TypeString, spec.TypeVarchar, spec.TypeChar, spec.TypeBinary:
		s := &c.str
		for i := from; i < to; i++ {
			var v []byte
			if s.dictMode {
				v = s.value(s.ids[i])
			} else {
				v = s.directValue(i)
			}
			b.addHash(murmur3Hash64(v))
		}
	case spec.TypeTimestamp:
		// Timestamps are hashed as their milliseconds since the epoch.
		for i := from; i < to; i++ {
			ms := c.ints[i]*1000 + int64(c.nanos[i]/1e6)
			b.addHash(thomasWang64(uint64(ms)))
		}
	case spec.TypeDecimal:
		for _, v := range c.decs[from:to] {
			b.addHash(murmur3Hash64([]byte(decimalString(v, c.t.Scale))))
		}
	}
}

// thomasWang64 is Thomas Wang's 64-bit integer hash with the arithmetic
// (sign-extending) right shifts of the Java original.
func thomasWang64(u uint64) uint64 {
	key := int64(u)
	key = ^key + key<<21
	key ^= key >> 24
	key = key + key<<3 + key<<8
	key ^= key >> 14
	key = key + key<<2 + key<<4
	key ^= key >> 28
	key += key << 31
	return uint64(key)
}

const (
	murmurC1   = 0x87c37b91114253d5
	murmurC2   = 0x4cf5ad432745937f
	murmurSeed = 104729
)

// murmur3Hash64 is the 64-bit Murmur3 variant of Hive and ORC.
func murmur3Hash64(data []byte) uint64 {
	h := uint64(murmurSeed)
	n := len(data)
	i := 0
	for ; i+8 <= n; i += 8 {
		k := binary.LittleEndian.Uint64(data[i:])
		k *= murmurC1
		k = bits.RotateLeft64(k, 31)
		k *= murmurC2
		h ^= k
		h = bits.RotateLeft64(h, 27)*5 + 0x52dce729
	}
	if rem := n - i; rem > 0 {
		var k uint64
		for j := rem - 1; j >= 0; j-- {
			k ^= uint64(data[i+j]) << (8 * uint(j))
		}
		k *= murmurC1
		k = bits.RotateLeft64(k, 31)
		k *= murmurC2
		h ^= k
	}
	h ^= uint64(n)
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
