package compactor

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/landfall/landfall/writer/orc/reader"
	"github.com/landfall/landfall/writer/orc/spec"
)

// Result describes a merged file.
type Result struct {
	// Size is the merged file's length in bytes.
	Size int64
	// Rows is the number of records, when the format counts them (ORC's
	// footer); -1 for lzo and text, whose containers don't, and whose
	// rows the caller knows from the sources' state.
	Rows int64
	// Sidecars are written beside the merged file (lzo's .lzo.index) and,
	// like the writer's sidecars, published before it.
	Sidecars []Sidecar
}

// Sidecar is a companion file: the merged file's name plus Suffix.
type Sidecar struct {
	Suffix string
	Data   []byte
}

// OffsetsKey is the user metadata key of landfall's ORC files that lists
// the Kafka offsets a file holds, "partition:first-last" ranges, comma
// separated; a merged file holds the union of its sources' ranges.
const OffsetsKey = "landfall.offsets"

// MergeORC writes to dst one ORC file with the stripes of srcs, in order,
// copied byte for byte, and a new tail: the stripe list rebased to the new
// offsets, the sources' stripe statistics concatenated, file statistics
// merged column by column (spec.MergeStatistics), the types of the first
// source, and its user metadata except OffsetsKey, which becomes the union
// of the sources' ranges.
//
// Row index positions are relative to their stripe and bloom filters live in
// the stripes' index streams, so both stay valid as they are. This holds
// only if every source has the same schema, compression, compression block
// size, row index stride and writer version (a reader applies the file's
// writer version to every stripe); sources that differ are refused with an
// *IncompatibleError and nothing useful is written. Encrypted files are
// refused too: their keys are per file.
//
// Memory is the sources' tails plus one copy buffer. dst gets the header,
// the stripes and the tail in order, never seeking; the caller syncs and
// closes it.
func MergeORC(ctx context.Context, dst io.Writer, srcs []Source, opts ...Option) (Result, error) {
	o := defaults(opts)
	if len(srcs) == 0 {
		return Result{}, fmt.Errorf("compactor: merge orc: no sources")
	}
	files := make([]*reader.File, 0, len(srcs))
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for i, s := range srcs {
		f, err := reader.Open(s, s.Size())
		if err != nil {
			return Result{}, fmt.Errorf("compactor: merge orc: open source %d: %w: %w", i, ErrBadSource, err)
		}
		files = append(files, f)
	}
	if err := checkORC(files); err != nil {
		return Result{}, fmt.Errorf("compactor: merge orc: %w", err)
	}
	first := files[0]
	types := first.Footer().Types

	var stripeStats []spec.StripeStatistics
	var rows uint64
	for i, f := range files {
		ss, err := f.StripeStatistics()
		if err != nil {
			return Result{}, fmt.Errorf("compactor: merge orc: source %d: %w: %w", i, ErrBadSource, err)
		}
		if len(ss) != len(f.Stripes()) {
			return Result{}, fmt.Errorf("compactor: merge orc: source %d: %w: %d stripe statistics for %d stripes", i, ErrBadSource, len(ss), len(f.Stripes()))
		}
		if len(f.Statistics()) != len(types) {
			return Result{}, fmt.Errorf("compactor: merge orc: source %d: %w: file statistics for %d of %d columns", i, ErrBadSource, len(f.Statistics()), len(types))
		}
		var n uint64
		for _, st := range f.Stripes() {
			n += st.NumberOfRows
		}
		if n != f.NumRows() {
			return Result{}, fmt.Errorf("compactor: merge orc: source %d: %w: stripes hold %d rows, the footer says %d", i, ErrBadSource, n, f.NumRows())
		}
		rows += n
		stripeStats = append(stripeStats, ss...)
	}

	c := newCopier(ctx, dst, o)
	if err := c.write([]byte(spec.Magic)); err != nil {
		return Result{}, fmt.Errorf("compactor: merge orc: %w", err)
	}
	var stripes []spec.StripeInformation
	for i, f := range files {
		for j, st := range f.Stripes() {
			at := uint64(c.off)
			if err := c.copyRange(srcs[i], int64(st.Offset), int64(st.Length())); err != nil {
				return Result{}, fmt.Errorf("compactor: merge orc: copy stripe %d of source %d: %w", j, i, err)
			}
			st.Offset = at // the copy is a value: the source's footer is untouched
			stripes = append(stripes, st)
		}
	}
	content := uint64(c.off)

	stats := make([]spec.ColumnStatistics, len(types))
	parts := make([]spec.ColumnStatistics, len(files))
	for col := range types {
		for i, f := range files {
			parts[i] = f.Statistics()[col]
		}
		stats[col] = spec.MergeStatistics(&types[col], parts)
	}
	meta, err := mergeUserMetadata(files)
	if err != nil {
		return Result{}, fmt.Errorf("compactor: merge orc: %w", err)
	}

	fo, ps := first.Footer(), first.PostScript()
	footer := spec.Footer{
		HeaderLength:    uint64(len(spec.Magic)),
		ContentLength:   content,
		Stripes:         stripes,
		Types:           types,
		Metadata:        meta,
		NumberOfRows:    rows,
		Statistics:      stats,
		RowIndexStride:  fo.RowIndexStride,
		Writer:          fo.Writer,
		Calendar:        fo.Calendar,
		SoftwareVersion: fo.SoftwareVersion,
		Unknown:         fo.Unknown,
	}
	comp, err := spec.NewCompressor(ps.Compression, int(ps.BlockSize()))
	if err != nil {
		return Result{}, fmt.Errorf("compactor: merge orc: %w", err)
	}
	metaBytes, err := comp.Append(nil, (&spec.Metadata{StripeStats: stripeStats}).AppendTo(nil))
	if err != nil {
		return Result{}, fmt.Errorf("compactor: merge orc: compress metadata: %w", err)
	}
	footerBytes, err := comp.Append(nil, footer.AppendTo(nil))
	if err != nil {
		return Result{}, fmt.Errorf("compactor: merge orc: compress footer: %w", err)
	}
	newPS := spec.PostScript{
		FooterLength:         uint64(len(footerBytes)),
		Compression:          ps.Compression,
		CompressionBlockSize: ps.CompressionBlockSize,
		Version:              ps.Version,
		MetadataLength:       uint64(len(metaBytes)),
		WriterVersion:        ps.WriterVersion,
		Magic:                spec.Magic,
		Unknown:              ps.Unknown,
	}
	psBytes := newPS.AppendTo(nil)
	if len(psBytes) > spec.MaxPostScriptLength {
		return Result{}, fmt.Errorf("compactor: merge orc: postscript of %d bytes", len(psBytes))
	}
	tail := append(metaBytes, footerBytes...)
	tail = append(tail, psBytes...)
	tail = append(tail, byte(len(psBytes)))
	if err := c.write(tail); err != nil {
		return Result{}, fmt.Errorf("compactor: merge orc: write tail: %w", err)
	}
	return Result{Size: c.off, Rows: int64(rows)}, nil
}

// checkORC refuses sources whose stripes can't share one tail.
func checkORC(files []*reader.File) error {
	f0 := files[0]
	ps0, fo0 := f0.PostScript(), f0.Footer()
	if ps0.Compression == spec.CompressionLZO || ps0.Compression == spec.CompressionBrotli {
		// Reading them is fine; the merged tail would have to be written
		// in a codec the spec package can't write.
		return incompatible(0, "compression", ps0.Compression, "one landfall can write")
	}
	types0 := typesBytes(fo0.Types)
	for i, f := range files {
		ps, fo := f.PostScript(), f.Footer()
		switch {
		case fo.Encryption != nil || ps.StripeStatisticsLength != 0:
			return incompatible(i, "column encryption", "keys of its own", "none")
		case ps.Compression != ps0.Compression:
			return incompatible(i, "compression", ps.Compression, ps0.Compression)
		case ps.BlockSize() != ps0.BlockSize():
			return incompatible(i, "compression block size", ps.BlockSize(), ps0.BlockSize())
		case !bytes.Equal(typesBytes(fo.Types), types0):
			return incompatible(i, "schema", f.Schema(), f0.Schema())
		case fo.RowIndexStride != fo0.RowIndexStride:
			return incompatible(i, "row index stride", fo.RowIndexStride, fo0.RowIndexStride)
		case !slices.Equal(ps.Version, ps0.Version):
			return incompatible(i, "format version", ps.Version, ps0.Version)
		case ps.WriterVersion != ps0.WriterVersion || fo.Writer != fo0.Writer:
			return incompatible(i, "writer", fmt.Sprintf("%d/%d", fo.Writer, ps.WriterVersion), fmt.Sprintf("%d/%d", fo0.Writer, ps0.WriterVersion))
		case fo.Calendar != fo0.Calendar:
			return incompatible(i, "calendar", fo.Calendar, fo0.Calendar)
		case !bytes.Equal(ps.Unknown, ps0.Unknown) || !bytes.Equal(fo.Unknown, fo0.Unknown):
			// Fields this code doesn't know may describe the stripes;
			// one tail can carry them only if they are the same.
			return incompatible(i, "unknown tail fields", fmt.Sprintf("%x/%x", ps.Unknown, fo.Unknown), fmt.Sprintf("%x/%x", ps0.Unknown, fo0.Unknown))
		}
	}
	return nil
}

func typesBytes(ts []spec.Type) []byte {
	var b []byte
	for i := range ts {
		b = ts[i].AppendTo(b)
	}
	return b
}

// ORCKey is the compatibility key of an ORC file for the planner: files with
// equal keys can be merged by MergeORC.
func ORCKey(f *reader.File) string {
	ps, fo := f.PostScript(), f.Footer()
	return fmt.Sprintf("%s|%v|%d|%d|%v|%d/%d", f.Schema(), ps.Compression, ps.BlockSize(), fo.RowIndexStride, ps.Version, fo.Writer, ps.WriterVersion)
}

// mergeUserMetadata keeps the first source's items, in its order, except
// OffsetsKey, which becomes the union of every source's ranges.
func mergeUserMetadata(files []*reader.File) ([]spec.UserMetadataItem, error) {
	var ranges []offsetRange
	have := false
	for i, f := range files {
		v, ok := f.UserMetadata(OffsetsKey)
		if !ok {
			continue
		}
		have = true
		r, err := parseOffsets(string(v))
		if err != nil {
			return nil, fmt.Errorf("source %d: %w: %w", i, ErrBadSource, err)
		}
		ranges = append(ranges, r...)
	}
	var out []spec.UserMetadataItem
	done := false
	for _, m := range files[0].Footer().Metadata {
		if m.Name == OffsetsKey {
			m.Value = []byte(formatOffsets(unionOffsets(ranges)))
			done = true
		}
		out = append(out, m)
	}
	if have && !done {
		out = append(out, spec.UserMetadataItem{Name: OffsetsKey, Value: []byte(formatOffsets(unionOffsets(ranges)))})
	}
	return out, nil
}

type offsetRange struct {
	part        int32
	first, last int64
}

// parseOffsets reads "p:first-last,…" (inclusive offsets).
func parseOffsets(s string) ([]offsetRange, error) {
	if s == "" {
		return nil, nil
	}
	var out []offsetRange
	for _, item := range strings.Split(s, ",") {
		p, rg, ok := strings.Cut(item, ":")
		a, b, ok2 := strings.Cut(rg, "-")
		part, err1 := strconv.ParseInt(p, 10, 32)
		first, err2 := strconv.ParseInt(a, 10, 64)
		last, err3 := strconv.ParseInt(b, 10, 64)
		if !ok || !ok2 || err1 != nil || err2 != nil || err3 != nil || first > last || first < 0 {
			return nil, fmt.Errorf("%s %q: item %q is not partition:first-last", OffsetsKey, s, item)
		}
		out = append(out, offsetRange{int32(part), first, last})
	}
	return out, nil
}

// unionOffsets sorts ranges and joins those that overlap or touch. Ranges of
// one Kafka partition that leave a gap (records that went to other Hive
// partitions) stay apart, so the value can list a partition more than once.
func unionOffsets(rs []offsetRange) []offsetRange {
	rs = slices.Clone(rs)
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].part != rs[j].part {
			return rs[i].part < rs[j].part
		}
		return rs[i].first < rs[j].first
	})
	var out []offsetRange
	for _, r := range rs {
		if n := len(out); n > 0 && out[n-1].part == r.part && r.first <= out[n-1].last+1 {
			out[n-1].last = max(out[n-1].last, r.last)
			continue
		}
		out = append(out, r)
	}
	return out
}

func formatOffsets(rs []offsetRange) string {
	var b strings.Builder
	for i, r := range rs {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%d:%d-%d", r.part, r.first, r.last)
	}
	return b.String()
}
