package spec

import (
	"errors"
	"strconv"
)

// Magic opens every ORC file and closes its postscript.
const Magic = "ORC"

// Sizes and defaults of the format.
const (
	// DefaultCompressionBlockSize is the chunk size a reader assumes when the
	// postscript leaves compressionBlockSize out (old writers did).
	DefaultCompressionBlockSize = 256 * 1024
	// MaxCompressionBlockSize bounds the chunk size a reader accepts from a
	// postscript. A chunk header holds 23 bits of length, so no valid chunk
	// is larger than this; anything bigger is a hostile or broken file.
	MaxCompressionBlockSize = 1<<23 - 1
	// DefaultRowIndexStride is the number of rows per row group of the Java
	// and C++ writers.
	DefaultRowIndexStride = 10000
	// DefaultStripeSize is the stripe size of the Java writer (64 MiB).
	DefaultStripeSize = 64 << 20
	// MaxPostScriptLength is the largest postscript a file can have: its
	// length is stored in the file's last byte.
	MaxPostScriptLength = 255
	// ChunkHeaderSize is the size of a compression chunk header.
	ChunkHeaderSize = 3
	// TimestampBaseSeconds is 2015-01-01 00:00:00 UTC in Unix seconds: the
	// DATA stream of a timestamp column holds seconds relative to it.
	TimestampBaseSeconds = 1420070400
)

// Version is the file format version written to the postscript.
var (
	Version0_11 = []uint32{0, 11}
	Version0_12 = []uint32{0, 12}
	// VersionUnstablePre2_0 marks files of the Java "UNSTABLE-PRE-2.0" format
	// (DECIMAL64 encoding of small decimals).
	VersionUnstablePre2_0 = []uint32{1, 9999}
)

// Writer implementation codes of Footer.Writer, as registered in the spec.
const (
	WriterJava         uint32 = 0
	WriterCPP          uint32 = 1
	WriterPresto       uint32 = 2
	WriterScritchleyGo uint32 = 3
	WriterTrino        uint32 = 4
	WriterCUDF         uint32 = 5
)

// Writer versions of PostScript.WriterVersion: the fixes a writer includes.
// Writers other than ORC Java must use 6 or later.
const (
	WriterVersionOriginal  uint32 = 0
	WriterVersionHive8732  uint32 = 1 // stripe/file max statistics and utf8 string statistics fixed
	WriterVersionHive4243  uint32 = 2 // real column names
	WriterVersionHive12055 uint32 = 3 // vectorized writer
	WriterVersionHive13083 uint32 = 4 // decimals write their PRESENT stream correctly
	WriterVersionORC101    uint32 = 5 // bloom filters use utf8 consistently
	WriterVersionORC135    uint32 = 6 // timestamp statistics in UTC
	WriterVersionORC517    uint32 = 7 // decimal64 min/max fixed
	WriterVersionORC203    uint32 = 8 // trimmed min/max of long strings
	WriterVersionORC14     uint32 = 9 // column encryption
)

// CompressionKind is the generic compression of a file (PostScript.compression).
type CompressionKind int32

const (
	CompressionNone   CompressionKind = 0
	CompressionZlib   CompressionKind = 1
	CompressionSnappy CompressionKind = 2
	CompressionLZO    CompressionKind = 3
	CompressionLZ4    CompressionKind = 4
	CompressionZstd   CompressionKind = 5
	CompressionBrotli CompressionKind = 6
)

var compressionNames = [...]string{"NONE", "ZLIB", "SNAPPY", "LZO", "LZ4", "ZSTD", "BROTLI"}

func (k CompressionKind) String() string {
	if k >= 0 && int(k) < len(compressionNames) {
		return compressionNames[k]
	}
	return "CompressionKind(" + strconv.Itoa(int(k)) + ")"
}

// TypeKind is the kind of a schema node (Type.kind).
type TypeKind int32

const (
	TypeBoolean          TypeKind = 0
	TypeByte             TypeKind = 1
	TypeShort            TypeKind = 2
	TypeInt              TypeKind = 3
	TypeLong             TypeKind = 4
	TypeFloat            TypeKind = 5
	TypeDouble           TypeKind = 6
	TypeString           TypeKind = 7
	TypeBinary           TypeKind = 8
	TypeTimestamp        TypeKind = 9
	TypeList             TypeKind = 10
	TypeMap              TypeKind = 11
	TypeStruct           TypeKind = 12
	TypeUnion            TypeKind = 13
	TypeDecimal          TypeKind = 14
	TypeDate             TypeKind = 15
	TypeVarchar          TypeKind = 16
	TypeChar             TypeKind = 17
	TypeTimestampInstant TypeKind = 18
)

var typeNames = [...]string{"boolean", "tinyint", "smallint", "int", "bigint", "float", "double",
	"string", "binary", "timestamp", "array", "map", "struct", "uniontype", "decimal", "date",
	"varchar", "char", "timestamp with local time zone"}

// String is the Hive type name of the kind.
func (k TypeKind) String() string {
	if k >= 0 && int(k) < len(typeNames) {
		return typeNames[k]
	}
	return "TypeKind(" + strconv.Itoa(int(k)) + ")"
}

// StreamKind is the kind of a stream of a stripe (Stream.kind).
type StreamKind int32

const (
	StreamPresent         StreamKind = 0
	StreamData            StreamKind = 1
	StreamLength          StreamKind = 2
	StreamDictionaryData  StreamKind = 3
	StreamDictionaryCount StreamKind = 4 // deprecated before Hive 0.11
	StreamSecondary       StreamKind = 5
	StreamRowIndex        StreamKind = 6
	StreamBloomFilter     StreamKind = 7
	StreamBloomFilterUTF8 StreamKind = 8
	// StreamEncryptedIndex and StreamEncryptedData are virtual streams that
	// reserve the space of the encrypted variants' index and data streams.
	StreamEncryptedIndex   StreamKind = 9
	StreamEncryptedData    StreamKind = 10
	StreamStripeStatistics StreamKind = 100
	StreamFileStatistics   StreamKind = 101
)

// IsIndex says whether streams of this kind live in a stripe's index section
// (before the data section) rather than its data section.
func (k StreamKind) IsIndex() bool {
	switch k {
	case StreamRowIndex, StreamBloomFilter, StreamBloomFilterUTF8, StreamEncryptedIndex:
		return true
	}
	return false
}

func (k StreamKind) String() string {
	switch k {
	case StreamPresent:
		return "PRESENT"
	case StreamData:
		return "DATA"
	case StreamLength:
		return "LENGTH"
	case StreamDictionaryData:
		return "DICTIONARY_DATA"
	case StreamDictionaryCount:
		return "DICTIONARY_COUNT"
	case StreamSecondary:
		return "SECONDARY"
	case StreamRowIndex:
		return "ROW_INDEX"
	case StreamBloomFilter:
		return "BLOOM_FILTER"
	case StreamBloomFilterUTF8:
		return "BLOOM_FILTER_UTF8"
	case StreamEncryptedIndex:
		return "ENCRYPTED_INDEX"
	case StreamEncryptedData:
		return "ENCRYPTED_DATA"
	case StreamStripeStatistics:
		return "STRIPE_STATISTICS"
	case StreamFileStatistics:
		return "FILE_STATISTICS"
	}
	return "StreamKind(" + strconv.Itoa(int(k)) + ")"
}

// EncodingKind is the encoding of a column in a stripe (ColumnEncoding.kind).
type EncodingKind int32

const (
	EncodingDirect       EncodingKind = 0 // RLE v1
	EncodingDictionary   EncodingKind = 1 // RLE v1
	EncodingDirectV2     EncodingKind = 2 // RLE v2
	EncodingDictionaryV2 EncodingKind = 3 // RLE v2
)

func (k EncodingKind) String() string {
	switch k {
	case EncodingDirect:
		return "DIRECT"
	case EncodingDictionary:
		return "DICTIONARY"
	case EncodingDirectV2:
		return "DIRECT_V2"
	case EncodingDictionaryV2:
		return "DICTIONARY_V2"
	}
	return "EncodingKind(" + strconv.Itoa(int(k)) + ")"
}

// IsV2 says whether integers of this encoding use RLE v2.
func (k EncodingKind) IsV2() bool { return k == EncodingDirectV2 || k == EncodingDictionaryV2 }

// IsDictionary says whether the encoding is a dictionary encoding.
func (k EncodingKind) IsDictionary() bool {
	return k == EncodingDictionary || k == EncodingDictionaryV2
}

// CalendarKind is the calendar dates and timestamps were written in (Footer.calendar).
type CalendarKind int32

const (
	CalendarUnknown            CalendarKind = 0
	CalendarJulianGregorian    CalendarKind = 1
	CalendarProlepticGregorian CalendarKind = 2
)

// EncryptionAlgorithm is the cipher of an encryption key.
type EncryptionAlgorithm int32

const (
	EncryptionUnknown   EncryptionAlgorithm = 0
	EncryptionAESCTR128 EncryptionAlgorithm = 1
	EncryptionAESCTR256 EncryptionAlgorithm = 2
)

// KeyProviderKind says how the local keys of an encrypted file are protected.
type KeyProviderKind int32

const (
	KeyProviderUnknown KeyProviderKind = 0
	KeyProviderHadoop  KeyProviderKind = 1
	KeyProviderAWS     KeyProviderKind = 2
	KeyProviderGCP     KeyProviderKind = 3
	KeyProviderAzure   KeyProviderKind = 4
)

// ErrCorrupt is wrapped by every error about bytes that do not follow the
// format: truncated or malformed protobuf, bad chunk headers, chunks larger
// than the compression block size. Retrying does not help; the file is bad.
var ErrCorrupt = errors.New("orc: corrupt data")

// ErrUnsupportedCompression is wrapped by errors for a compression kind this
// package can't decode (LZO until its codec exists, BROTLI, unknown kinds).
var ErrUnsupportedCompression = errors.New("orc: unsupported compression")
