package main

import (
	"fmt"
	"time"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/writer"
	"github.com/landfall/landfall/writer/lzo"
	"github.com/landfall/landfall/writer/orc"
	"github.com/landfall/landfall/writer/orc/spec"
)

// newFormat builds the writer format named in the config.
//
// format.memory_budget bounds the bytes that the open part files of the
// process buffer together, in every format (0 = the format's default:
// 256 MiB for text and lzo, 512 MiB for orc). Late data can open hundreds
// of partitions at once. A text or lzo file buffers within an equal share
// of the budget, up to what it needs at full speed (256 KiB for text, 256
// KiB blocks and 256 KiB writes for lzo, 1 MiB frames for zstd), and
// writes out early when its share is smaller: a smaller write, zstd frame
// or lzo block (still indexed). More open files so cost compression ratio
// and write size, not memory. A file gets at least 16 KiB, so n files
// may hold max(budget, n × 16 KiB), plus about 1 KiB each outside any
// budget. text+zstd reserves up to 4 shared encoders of 3.75 MiB out of
// the budget and needs at least 8 MiB. At 256 MiB every file runs at full
// speed with up to 1,000 text, 500 lzo or 240 zstd files open.
//
// ORC timestamp columns hold the wall clock in the partition time zone
// (event_time.timezone), so that a row's ts and its partition's digits
// agree for every reader (orc.WithTimeZone says why this encoding).
func newFormat(c committer.FormatConfig, timezone string) (writer.Format, error) {
	switch c.Name {
	case "text":
		var opts []writer.TextOption
		if c.MemoryBudget > 0 {
			if c.Compression == "zstd" && c.MemoryBudget < writer.MinZstdMemoryBudget {
				return nil, fmt.Errorf("format.memory_budget: %d is too small for text+zstd: set at least %d (8 MiB), or 0 for 256 MiB", c.MemoryBudget, writer.MinZstdMemoryBudget)
			}
			opts = append(opts, writer.WithMemoryBudget(c.MemoryBudget))
		}
		f, err := writer.NewText(c.Compression, opts...)
		if err != nil {
			return nil, fmt.Errorf("format: %w", err)
		}
		return f, nil
	case "lzo":
		var opts []lzo.WriterOption
		if c.BlockSize > 0 {
			opts = append(opts, lzo.WithBlockSize(c.BlockSize))
		}
		if c.MemoryBudget > 0 {
			opts = append(opts, lzo.WithMemoryBudget(c.MemoryBudget))
		}
		if c.LzoInputFormat == committer.LzoText {
			opts = append(opts, lzo.WithoutIndex())
		}
		f, err := lzo.NewFormat(opts...)
		if err != nil {
			return nil, fmt.Errorf("format: %w", err)
		}
		return f, nil
	case "orc":
		schema, err := orc.ParseSchema(c.Schema)
		if err != nil {
			return nil, fmt.Errorf("format.schema: %w", err)
		}
		kind := map[string]spec.CompressionKind{"zstd": spec.CompressionZstd, "zlib": spec.CompressionZlib, "none": spec.CompressionNone}[c.Compression]
		loc, err := time.LoadLocation(timezone)
		if err != nil {
			return nil, fmt.Errorf("event_time.timezone: %w", err)
		}
		opts := []orc.Option{orc.WithCompression(kind, c.Level), orc.WithTimeZone(loc)}
		if c.BlockSize > 0 {
			opts = append(opts, orc.WithBlockSize(c.BlockSize))
		}
		if c.StripeSize > 0 {
			opts = append(opts, orc.WithStripeSize(c.StripeSize))
		}
		if c.MemoryBudget > 0 {
			opts = append(opts, orc.WithMemoryBudget(c.MemoryBudget))
		}
		if len(c.BloomFilterColumns) > 0 {
			opts = append(opts, orc.WithBloomFilters(0.01, c.BloomFilterColumns...))
		}
		f, err := orc.NewFormat(schema, opts...)
		if err != nil {
			return nil, fmt.Errorf("format: %w", err)
		}
		return f, nil
	}
	return nil, fmt.Errorf("format.name: %q: want text, lzo or orc", c.Name)
}
