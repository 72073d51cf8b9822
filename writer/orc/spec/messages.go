package spec

import (
	"google.golang.org/protobuf/encoding/protowire"
)

// Structural messages. Scalars that the spec gives a meaningful zero (a
// stream kind PRESENT, column 0, row count 0) are always written; optional
// fields whose zero means "absent" are written only when set.

// RowIndexEntry locates one row group in each stream of a column: for every
// stream, in stream order, the chunk offset (compressed files only), the
// offset in the decompressed chunk, and the values to skip in the RLE run.
type RowIndexEntry struct {
	Positions  []uint64
	Statistics *ColumnStatistics
	Unknown    []byte
}

func (m *RowIndexEntry) AppendTo(b []byte) []byte {
	b = appendPackedUvarints(b, 1, m.Positions)
	if m.Statistics != nil {
		b = appendMessage(b, 2, m.Statistics)
	}
	return append(b, m.Unknown...)
}

func (m *RowIndexEntry) Unmarshal(b []byte) error {
	*m = RowIndexEntry{}
	return decodeMessage("RowIndexEntry", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		switch num {
		case 1:
			var n int
			var err error
			m.Positions, n, err = readPackedUvarints(m.Positions, typ, b)
			return n, err
		case 2:
			return readOptMessage(&m.Statistics, typ, b)
		}
		return skipField, nil
	})
}

// RowIndex is the content of a ROW_INDEX stream: one entry per row group.
type RowIndex struct {
	Entry   []RowIndexEntry
	Unknown []byte
}

func (m *RowIndex) AppendTo(b []byte) []byte {
	for i := range m.Entry {
		b = appendMessage(b, 1, &m.Entry[i])
	}
	return append(b, m.Unknown...)
}

func (m *RowIndex) Unmarshal(b []byte) error {
	*m = RowIndex{}
	return decodeMessage("RowIndex", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		if num != 1 {
			return skipField, nil
		}
		return readRepeatedMessage(&m.Entry, typ, b)
	})
}

// BloomFilter is the bloom filter of one row group. Bitset is the pre-ORC-101
// form (longs, little endian bit order); UTF8Bitset the newer byte form.
type BloomFilter struct {
	NumHashFunctions uint32
	Bitset           []uint64
	UTF8Bitset       []byte
	Unknown          []byte
}

func (m *BloomFilter) AppendTo(b []byte) []byte {
	b = appendUvarint(b, 1, uint64(m.NumHashFunctions))
	b = appendPackedFixed64s(b, 2, m.Bitset)
	if m.UTF8Bitset != nil {
		b = appendBytes(b, 3, m.UTF8Bitset)
	}
	return append(b, m.Unknown...)
}

func (m *BloomFilter) Unmarshal(b []byte) error {
	*m = BloomFilter{}
	return decodeMessage("BloomFilter", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		var n int
		var err error
		switch num {
		case 1:
			n, err = into(&m.NumHashFunctions, readUint32, typ, b)
		case 2:
			m.Bitset, n, err = readPackedFixed64s(m.Bitset, typ, b)
		case 3:
			var v []byte
			v, n, err = readBytes(typ, b)
			if err == nil {
				m.UTF8Bitset = append([]byte{}, v...)
			}
		default:
			return skipField, nil
		}
		return n, err
	})
}

// BloomFilterIndex is the content of a BLOOM_FILTER(_UTF8) stream.
type BloomFilterIndex struct {
	BloomFilter []BloomFilter
	Unknown     []byte
}

func (m *BloomFilterIndex) AppendTo(b []byte) []byte {
	for i := range m.BloomFilter {
		b = appendMessage(b, 1, &m.BloomFilter[i])
	}
	return append(b, m.Unknown...)
}

func (m *BloomFilterIndex) Unmarshal(b []byte) error {
	*m = BloomFilterIndex{}
	return decodeMessage("BloomFilterIndex", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		if num != 1 {
			return skipField, nil
		}
		return readRepeatedMessage(&m.BloomFilter, typ, b)
	})
}

// Stream describes one stream of a stripe. Streams are laid out back to back
// in the order of the stripe footer, starting at the stripe's offset.
type Stream struct {
	Kind    StreamKind
	Column  uint32
	Length  uint64
	Unknown []byte
}

func (m *Stream) AppendTo(b []byte) []byte {
	b = appendUvarint(b, 1, uint64(m.Kind))
	b = appendUvarint(b, 2, uint64(m.Column))
	b = appendUvarint(b, 3, m.Length)
	return append(b, m.Unknown...)
}

func (m *Stream) Unmarshal(b []byte) error {
	*m = Stream{}
	return decodeMessage("Stream", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		var n int
		var err error
		switch num {
		case 1:
			var v uint32
			v, n, err = readUint32(typ, b)
			if err == nil {
				m.Kind = StreamKind(v)
			}
		case 2:
			n, err = into(&m.Column, readUint32, typ, b)
		case 3:
			n, err = into(&m.Length, readUvarint, typ, b)
		default:
			return skipField, nil
		}
		return n, err
	})
}

// ColumnEncoding is the encoding of one column in a stripe. DictionarySize
// is the number of dictionary entries of dictionary encodings.
// BloomEncoding is 0 for original bloom filters, 1 for ORC-135 (UTC).
type ColumnEncoding struct {
	Kind           EncodingKind
	DictionarySize uint32
	BloomEncoding  uint32
	Unknown        []byte
}

func (m *ColumnEncoding) AppendTo(b []byte) []byte {
	b = appendUvarint(b, 1, uint64(m.Kind))
	b = appendUvarintNZ(b, 2, uint64(m.DictionarySize))
	b = appendUvarintNZ(b, 3, uint64(m.BloomEncoding))
	return append(b, m.Unknown...)
}

func (m *ColumnEncoding) Unmarshal(b []byte) error {
	*m = ColumnEncoding{}
	return decodeMessage("ColumnEncoding", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		var n int
		var err error
		switch num {
		case 1:
			var v uint32
			v, n, err = readUint32(typ, b)
			if err == nil {
				m.Kind = EncodingKind(v)
			}
		case 2:
			n, err = into(&m.DictionarySize, readUint32, typ, b)
		case 3:
			n, err = into(&m.BloomEncoding, readUint32, typ, b)
		default:
			return skipField, nil
		}
		return n, err
	})
}

// StripeEncryptionVariant holds the streams and encodings of one encryption
// variant of a stripe; their bytes sit inside the ENCRYPTED_INDEX and
// ENCRYPTED_DATA virtual streams of the stripe footer.
type StripeEncryptionVariant struct {
	Streams  []Stream
	Encoding []ColumnEncoding
	Unknown  []byte
}

func (m *StripeEncryptionVariant) AppendTo(b []byte) []byte {
	for i := range m.Streams {
		b = appendMessage(b, 1, &m.Streams[i])
	}
	for i := range m.Encoding {
		b = appendMessage(b, 2, &m.Encoding[i])
	}
	return append(b, m.Unknown...)
}

func (m *StripeEncryptionVariant) Unmarshal(b []byte) error {
	*m = StripeEncryptionVariant{}
	return decodeMessage("StripeEncryptionVariant", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		switch num {
		case 1:
			return readRepeatedMessage(&m.Streams, typ, b)
		case 2:
			return readRepeatedMessage(&m.Encoding, typ, b)
		}
		return skipField, nil
	})
}

// StripeFooter is the directory of a stripe: its streams in file order, one
// encoding per column, and the time zone the writer used for timestamps.
type StripeFooter struct {
	Streams        []Stream
	Columns        []ColumnEncoding
	WriterTimezone string
	Encryption     []StripeEncryptionVariant
	Unknown        []byte
}

func (m *StripeFooter) AppendTo(b []byte) []byte {
	for i := range m.Streams {
		b = appendMessage(b, 1, &m.Streams[i])
	}
	for i := range m.Columns {
		b = appendMessage(b, 2, &m.Columns[i])
	}
	b = appendStringNZ(b, 3, m.WriterTimezone)
	for i := range m.Encryption {
		b = appendMessage(b, 4, &m.Encryption[i])
	}
	return append(b, m.Unknown...)
}

func (m *StripeFooter) Unmarshal(b []byte) error {
	*m = StripeFooter{}
	return decodeMessage("StripeFooter", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		switch num {
		case 1:
			return readRepeatedMessage(&m.Streams, typ, b)
		case 2:
			return readRepeatedMessage(&m.Columns, typ, b)
		case 3:
			var n int
			var err error
			n, err = into(&m.WriterTimezone, readString, typ, b)
			return n, err
		case 4:
			return readRepeatedMessage(&m.Encryption, typ, b)
		}
		return skipField, nil
	})
}

// StringPair is a key/value attribute of a type (Iceberg ids, masks, ...).
type StringPair struct {
	Key, Value string
	Unknown    []byte
}

func (m *StringPair) AppendTo(b []byte) []byte {
	b = appendString(b, 1, m.Key)
	b = appendString(b, 2, m.Value)
	return append(b, m.Unknown...)
}

func (m *StringPair) Unmarshal(b []byte) error {
	*m = StringPair{}
	return decodeMessage("StringPair", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		var n int
		var err error
		switch num {
		case 1:
			n, err = into(&m.Key, readString, typ, b)
		case 2:
			n, err = into(&m.Value, readString, typ, b)
		default:
			return skipField, nil
		}
		return n, err
	})
}

// Type is one node of the schema, which the footer stores flattened in
// pre-order: the root is type 0 and Subtypes hold the ids of the children.
// FieldNames name the children of a struct. MaximumLength is the length of
// varchar and char; Precision and Scale are those of decimal (precision 0
// is a Hive 0.11 decimal of unbounded precision).
type Type struct {
	Kind          TypeKind
	Subtypes      []uint32
	FieldNames    []string
	MaximumLength uint32
	Precision     uint32
	Scale         uint32
	Attributes    []StringPair
	Unknown       []byte
}

func (m *Type) AppendTo(b []byte) []byte {
	b = appendUvarint(b, 1, uint64(m.Kind))
	b = appendPackedUint32s(b, 2, m.Subtypes)
	for _, s := range m.FieldNames {
		b = appendString(b, 3, s)
	}
	b = appendUvarintNZ(b, 4, uint64(m.MaximumLength))
	if m.Kind == TypeDecimal {
		// Precision and scale are written even when zero: some readers
		// take an absent precision to mean the Hive 0.11 default.
		b = appendUvarint(b, 5, uint64(m.Precision))
		b = appendUvarint(b, 6, uint64(m.Scale))
	} else {
		b = appendUvarintNZ(b, 5, uint64(m.Precision))
		b = appendUvarintNZ(b, 6, uint64(m.Scale))
	}
	for i := range m.Attributes {
		b = appendMessage(b, 7, &m.Attributes[i])
	}
	return append(b, m.Unknown...)
}

func (m *Type) Unmarshal(b []byte) error {
	*m = Type{}
	return decodeMessage("Type", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		var n int
		var err error
		switch num {
		case 1:
			var v uint32
			v, n, err = readUint32(typ, b)
			if err == nil {
				m.Kind = TypeKind(v)
			}
		case 2:
			m.Subtypes, n, err = readPackedUint32s(m.Subtypes, typ, b)
		case 3:
			var s string
			s, n, err = readString(typ, b)
			if err == nil {
				m.FieldNames = append(m.FieldNames, s)
			}
		case 4:
			n, err = into(&m.MaximumLength, readUint32, typ, b)
		case 5:
			n, err = into(&m.Precision, readUint32, typ, b)
		case 6:
			n, err = into(&m.Scale, readUint32, typ, b)
		case 7:
			return readRepeatedMessage(&m.Attributes, typ, b)
		default:
			return skipField, nil
		}
		return n, err
	})
}

// StripeInformation locates a stripe: Offset is where its index section
// starts; the data section follows, then the stripe footer. A compactor
// copies [Offset, Offset+IndexLength+DataLength+FooterLength) verbatim.
type StripeInformation struct {
	Offset             uint64
	IndexLength        uint64
	DataLength         uint64
	FooterLength       uint64
	NumberOfRows       uint64
	EncryptStripeID    uint64
	EncryptedLocalKeys [][]byte
	Unknown            []byte
}

// Length is the stripe's total size in bytes.
func (m *StripeInformation) Length() uint64 {
	return m.IndexLength + m.DataLength + m.FooterLength
}

func (m *StripeInformation) AppendTo(b []byte) []byte {
	b = appendUvarint(b, 1, m.Offset)
	b = appendUvarint(b, 2, m.IndexLength)
	b = appendUvarint(b, 3, m.DataLength)
	b = appendUvarint(b, 4, m.FooterLength)
	b = appendUvarint(b, 5, m.NumberOfRows)
	b = appendUvarintNZ(b, 6, m.EncryptStripeID)
	for _, k := range m.EncryptedLocalKeys {
		b = appendBytes(b, 7, k)
	}
	return append(b, m.Unknown...)
}

func (m *StripeInformation) Unmarshal(b []byte) error {
	*m = StripeInformation{}
	return decodeMessage("StripeInformation", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		var n int
		var err error
		switch num {
		case 1:
			n, err = into(&m.Offset, readUvarint, typ, b)
		case 2:
			n, err = into(&m.IndexLength, readUvarint, typ, b)
		case 3:
			n, err = into(&m.DataLength, readUvarint, typ, b)
		case 4:
			n, err = into(&m.FooterLength, readUvarint, typ, b)
		case 5:
			n, err = into(&m.NumberOfRows, readUvarint, typ, b)
		case 6:
			n, err = into(&m.EncryptStripeID, readUvarint, typ, b)
		case 7:
			var v []byte
			v, n, err = readBytes(typ, b)
			if err == nil {
				m.EncryptedLocalKeys = append(m.EncryptedLocalKeys, append([]byte{}, v...))
			}
		default:
			return skipField, nil
		}
		return n, err
	})
}

// UserMetadataItem is one user key/value of the footer.
type UserMetadataItem struct {
	Name    string
	Value   []byte
	Unknown []byte
}

func (m *UserMetadataItem) AppendTo(b []byte) []byte {
	b = appendString(b, 1, m.Name)
	b = appendBytes(b, 2, m.Value)
	return append(b, m.Unknown...)
}

func (m *UserMetadataItem) Unmarshal(b []byte) error {
	*m = UserMetadataItem{}
	return decodeMessage("UserMetadataItem", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		var n int
		var err error
		switch num {
		case 1:
			n, err = into(&m.Name, readString, typ, b)
		case 2:
			var v []byte
			v, n, err = readBytes(typ, b)
			if err == nil {
				m.Value = append([]byte{}, v...)
			}
		default:
			return skipField, nil
		}
		return n, err
	})
}

// StripeStatistics are the statistics of every column of one stripe.
type StripeStatistics struct {
	ColStats []ColumnStatistics
	Unknown  []byte
}

func (m *StripeStatistics) AppendTo(b []byte) []byte {
	for i := range m.ColStats {
		b = appendMessage(b, 1, &m.ColStats[i])
	}
	return append(b, m.Unknown...)
}

func (m *StripeStatistics) Unmarshal(b []byte) error {
	*m = StripeStatistics{}
	return decodeMessage("StripeStatistics", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		if num != 1 {
			return skipField, nil
		}
		return readRepeatedMessage(&m.ColStats, typ, b)
	})
}

// Metadata is the file's metadata section: statistics per stripe, in
// stripe order.
type Metadata struct {
	StripeStats []StripeStatistics
	Unknown     []byte
}

func (m *Metadata) AppendTo(b []byte) []byte {
	for i := range m.StripeStats {
		b = appendMessage(b, 1, &m.StripeStats[i])
	}
	return append(b, m.Unknown...)
}

func (m *Metadata) Unmarshal(b []byte) error {
	*m = Metadata{}
	return decodeMessage("Metadata", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		if num != 1 {
			return skipField, nil
		}
		return readRepeatedMessage(&m.StripeStats, typ, b)
	})
}

// ColumnarStripeStatistics are the statistics of one column in every stripe
// (the encrypted form of stripe statistics).
type ColumnarStripeStatistics struct {
	ColStats []ColumnStatistics
	Unknown  []byte
}

func (m *ColumnarStripeStatistics) AppendTo(b []byte) []byte {
	for i := range m.ColStats {
		b = appendMessage(b, 1, &m.ColStats[i])
	}
	return append(b, m.Unknown...)
}

func (m *ColumnarStripeStatistics) Unmarshal(b []byte) error {
	*m = ColumnarStripeStatistics{}
	return decodeMessage("ColumnarStripeStatistics", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		if num != 1 {
			return skipField, nil
		}
		return readRepeatedMessage(&m.ColStats, typ, b)
	})
}

// FileStatistics are the file statistics of an encryption variant.
type FileStatistics struct {
	Column  []ColumnStatistics
	Unknown []byte
}

func (m *FileStatistics) AppendTo(b []byte) []byte {
	for i := range m.Column {
		b = appendMessage(b, 1, &m.Column[i])
	}
	return append(b, m.Unknown...)
}

func (m *FileStatistics) Unmarshal(b []byte) error {
	*m = FileStatistics{}
	return decodeMessage("FileStatistics", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		if num != 1 {
			return skipField, nil
		}
		return readRepeatedMessage(&m.Column, typ, b)
	})
}

// DataMask says how the unencrypted variant of encrypted columns was masked.
type DataMask struct {
	Name           string
	MaskParameters []string
	Columns        []uint32
	Unknown        []byte
}

func (m *DataMask) AppendTo(b []byte) []byte {
	b = appendStringNZ(b, 1, m.Name)
	for _, s := range m.MaskParameters {
		b = appendString(b, 2, s)
	}
	b = appendPackedUint32s(b, 3, m.Columns)
	return append(b, m.Unknown...)
}

func (m *DataMask) Unmarshal(b []byte) error {
	*m = DataMask{}
	return decodeMessage("DataMask", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		var n int
		var err error
		switch num {
		case 1:
			n, err = into(&m.Name, readString, typ, b)
		case 2:
			var s string
			s, n, err = readString(typ, b)
			if err == nil {
				m.MaskParameters = append(m.MaskParameters, s)
			}
		case 3:
			m.Columns, n, err = readPackedUint32s(m.Columns, typ, b)
		default:
			return skipField, nil
		}
		return n, err
	})
}

// EncryptionKey describes a master key by name and version.
type EncryptionKey struct {
	KeyName    string
	KeyVersion uint32
	Algorithm  EncryptionAlgorithm
	Unknown    []byte
}

func (m *EncryptionKey) AppendTo(b []byte) []byte {
	b = appendStringNZ(b, 1, m.KeyName)
	b = appendUvarintNZ(b, 2, uint64(m.KeyVersion))
	b = appendUvarintNZ(b, 3, uint64(m.Algorithm))
	return append(b, m.Unknown...)
}

func (m *EncryptionKey) Unmarshal(b []byte) error {
	*m = EncryptionKey{}
	return decodeMessage("EncryptionKey", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		var n int
		var err error
		switch num {
		case 1:
			n, err = into(&m.KeyName, readString, typ, b)
		case 2:
			n, err = into(&m.KeyVersion, readUint32, typ, b)
		case 3:
			var v uint32
			v, n, err = readUint32(typ, b)
			if err == nil {
				m.Algorithm = EncryptionAlgorithm(v)
			}
		default:
			return skipField, nil
		}
		return n, err
	})
}

// EncryptionVariant is one encrypted subtree of columns (rooted at Root).
type EncryptionVariant struct {
	Root             uint32
	Key              uint32
	EncryptedKey     []byte
	StripeStatistics []Stream
	FileStatistics   []byte
	Unknown          []byte
}

func (m *EncryptionVariant) AppendTo(b []byte) []byte {
	b = appendUvarint(b, 1, uint64(m.Root))
	b = appendUvarint(b, 2, uint64(m.Key))
	if m.EncryptedKey != nil {
		b = appendBytes(b, 3, m.EncryptedKey)
	}
	for i := range m.StripeStatistics {
		b = appendMessage(b, 4, &m.StripeStatistics[i])
	}
	if m.FileStatistics != nil {
		b = appendBytes(b, 5, m.FileStatistics)
	}
	return append(b, m.Unknown...)
}

func (m *EncryptionVariant) Unmarshal(b []byte) error {
	*m = EncryptionVariant{}
	return decodeMessage("EncryptionVariant", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		var n int
		var err error
		switch num {
		case 1:
			n, err = into(&m.Root, readUint32, typ, b)
		case 2:
			n, err = into(&m.Key, readUint32, typ, b)
		case 3:
			var v []byte
			v, n, err = readBytes(typ, b)
			if err == nil {
				m.EncryptedKey = append([]byte{}, v...)
			}
		case 4:
			return readRepeatedMessage(&m.StripeStatistics, typ, b)
		case 5:
			var v []byte
			v, n, err = readBytes(typ, b)
			if err == nil {
				m.FileStatistics = append([]byte{}, v...)
			}
		default:
			return skipField, nil
		}
		return n, err
	})
}

// Encryption describes the column encryption of a file.
type Encryption struct {
	Mask        []DataMask
	Key         []EncryptionKey
	Variants    []EncryptionVariant
	KeyProvider KeyProviderKind
	Unknown     []byte
}

func (m *Encryption) AppendTo(b []byte) []byte {
	for i := range m.Mask {
		b = appendMessage(b, 1, &m.Mask[i])
	}
	for i := range m.Key {
		b = appendMessage(b, 2, &m.Key[i])
	}
	for i := range m.Variants {
		b = appendMessage(b, 3, &m.Variants[i])
	}
	b = appendUvarintNZ(b, 4, uint64(m.KeyProvider))
	return append(b, m.Unknown...)
}

func (m *Encryption) Unmarshal(b []byte) error {
	*m = Encryption{}
	return decodeMessage("Encryption", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		switch num {
		case 1:
			return readRepeatedMessage(&m.Mask, typ, b)
		case 2:
			return readRepeatedMessage(&m.Key, typ, b)
		case 3:
			return readRepeatedMessage(&m.Variants, typ, b)
		case 4:
			v, n, err := readUint32(typ, b)
			if err == nil {
				m.KeyProvider = KeyProviderKind(v)
			}
			return n, err
		}
		return skipField, nil
	})
}

// Footer is the file footer: layout, schema, row count, file statistics
// (one per column, in type id order) and user metadata.
//
// The spec document lists field 11 as stripeStatisticsLength, but the
// protobuf definition has it in the PostScript (field 7) and uses footer
// field 11 for the calendar; we follow the protobuf definition, which is what
// writers serialize.
type Footer struct {
	HeaderLength    uint64
	ContentLength   uint64
	Stripes         []StripeInformation
	Types           []Type
	Metadata        []UserMetadataItem
	NumberOfRows    uint64
	Statistics      []ColumnStatistics
	RowIndexStride  uint32
	Writer          uint32
	Encryption      *Encryption
	Calendar        CalendarKind
	SoftwareVersion string
	Unknown         []byte
}

func (m *Footer) AppendTo(b []byte) []byte {
	b = appendUvarint(b, 1, m.HeaderLength)
	b = appendUvarint(b, 2, m.ContentLength)
	for i := range m.Stripes {
		b = appendMessage(b, 3, &m.Stripes[i])
	}
	for i := range m.Types {
		b = appendMessage(b, 4, &m.Types[i])
	}
	for i := range m.Metadata {
		b = appendMessage(b, 5, &m.Metadata[i])
	}
	b = appendUvarint(b, 6, m.NumberOfRows)
	for i := range m.Statistics {
		b = appendMessage(b, 7, &m.Statistics[i])
	}
	b = appendUvarint(b, 8, uint64(m.RowIndexStride))
	b = appendUvarint(b, 9, uint64(m.Writer))
	if m.Encryption != nil {
		b = appendMessage(b, 10, m.Encryption)
	}
	b = appendUvarintNZ(b, 11, uint64(m.Calendar))
	b = appendStringNZ(b, 12, m.SoftwareVersion)
	return append(b, m.Unknown...)
}

func (m *Footer) Unmarshal(b []byte) error {
	*m = Footer{}
	return decodeMessage("Footer", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		var n int
		var err error
		switch num {
		case 1:
			n, err = into(&m.HeaderLength, readUvarint, typ, b)
		case 2:
			n, err = into(&m.ContentLength, readUvarint, typ, b)
		case 3:
			return readRepeatedMessage(&m.Stripes, typ, b)
		case 4:
			return readRepeatedMessage(&m.Types, typ, b)
		case 5:
			return readRepeatedMessage(&m.Metadata, typ, b)
		case 6:
			n, err = into(&m.NumberOfRows, readUvarint, typ, b)
		case 7:
			return readRepeatedMessage(&m.Statistics, typ, b)
		case 8:
			n, err = into(&m.RowIndexStride, readUint32, typ, b)
		case 9:
			n, err = into(&m.Writer, readUint32, typ, b)
		case 10:
			return readOptMessage(&m.Encryption, typ, b)
		case 11:
			var v uint32
			v, n, err = readUint32(typ, b)
			if err == nil {
				m.Calendar = CalendarKind(v)
			}
		case 12:
			n, err = into(&m.SoftwareVersion, readString, typ, b)
		default:
			return skipField, nil
		}
		return n, err
	})
}

// PostScript is the uncompressed end of the file that says how to read the
// rest. Its serialized form must stay under 256 bytes. Magic is written last
// (field 8000) as the spec asks.
type PostScript struct {
	FooterLength         uint64
	Compression          CompressionKind
	CompressionBlockSize uint64 // 0: absent, readers use DefaultCompressionBlockSize
	Version              []uint32
	MetadataLength       uint64
	WriterVersion        uint32
	// StripeStatisticsLength is the size of the encrypted stripe statistics
	// that precede the metadata section.
	StripeStatisticsLength uint64
	Magic                  string
	Unknown                []byte
}

func (m *PostScript) AppendTo(b []byte) []byte {
	b = appendUvarint(b, 1, m.FooterLength)
	b = appendUvarint(b, 2, uint64(m.Compression))
	b = appendUvarintNZ(b, 3, m.CompressionBlockSize)
	b = appendPackedUint32s(b, 4, m.Version)
	b = appendUvarint(b, 5, m.MetadataLength)
	b = appendUvarint(b, 6, uint64(m.WriterVersion))
	b = appendUvarintNZ(b, 7, m.StripeStatisticsLength)
	b = append(b, m.Unknown...)
	return appendStringNZ(b, 8000, m.Magic)
}

func (m *PostScript) Unmarshal(b []byte) error {
	*m = PostScript{}
	return decodeMessage("PostScript", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		var n int
		var err error
		switch num {
		case 1:
			n, err = into(&m.FooterLength, readUvarint, typ, b)
		case 2:
			var v uint32
			v, n, err = readUint32(typ, b)
			if err == nil {
				m.Compression = CompressionKind(v)
			}
		case 3:
			n, err = into(&m.CompressionBlockSize, readUvarint, typ, b)
		case 4:
			m.Version, n, err = readPackedUint32s(m.Version, typ, b)
		case 5:
			n, err = into(&m.MetadataLength, readUvarint, typ, b)
		case 6:
			n, err = into(&m.WriterVersion, readUint32, typ, b)
		case 7:
			n, err = into(&m.StripeStatisticsLength, readUvarint, typ, b)
		case 8000:
			n, err = into(&m.Magic, readString, typ, b)
		default:
			return skipField, nil
		}
		return n, err
	})
}

// BlockSize is the compression block size readers must use: the postscript's
// value, or DefaultCompressionBlockSize when the writer left it out.
func (m *PostScript) BlockSize() uint64 {
	if m.CompressionBlockSize == 0 {
		return DefaultCompressionBlockSize
	}
	return m.CompressionBlockSize
}

// FileTail is the serialized tail of a file, as caches and split planners
// pass it around.
type FileTail struct {
	PostScript       *PostScript
	Footer           *Footer
	FileLength       uint64
	PostScriptLength uint64
	Unknown          []byte
}

func (m *FileTail) AppendTo(b []byte) []byte {
	if m.PostScript != nil {
		b = appendMessage(b, 1, m.PostScript)
	}
	if m.Footer != nil {
		b = appendMessage(b, 2, m.Footer)
	}
	b = appendUvarintNZ(b, 3, m.FileLength)
	b = appendUvarintNZ(b, 4, m.PostScriptLength)
	return append(b, m.Unknown...)
}

func (m *FileTail) Unmarshal(b []byte) error {
	*m = FileTail{}
	return decodeMessage("FileTail", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		var n int
		var err error
		switch num {
		case 1:
			return readOptMessage(&m.PostScript, typ, b)
		case 2:
			return readOptMessage(&m.Footer, typ, b)
		case 3:
			n, err = into(&m.FileLength, readUvarint, typ, b)
		case 4:
			n, err = into(&m.PostScriptLength, readUvarint, typ, b)
		default:
			return skipField, nil
		}
		return n, err
	})
}
