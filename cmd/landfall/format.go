package main

import (
	"fmt"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/writer"
	"github.com/landfall/landfall/writer/lzo"
	"github.com/landfall/landfall/writer/orc"
	"github.com/landfall/landfall/writer/orc/spec"
)

// newFormat builds the writer format named in the config.
func newFormat(c committer.FormatConfig) (writer.Format, error) {
	switch c.Name {
	case "text":
		return writer.NewText(c.Compression)
	case "lzo":
		var opts []lzo.WriterOption
		if c.BlockSize > 0 {
			opts = append(opts, lzo.WithBlockSize(c.BlockSize))
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
		opts := []orc.Option{orc.WithCompression(kind, c.Level)}
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
