package writer

import (
	"bytes"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// Text writes one raw record per line, uncompressed or as one zstd frame.
type Text struct {
	zstd  bool
	level zstd.EncoderLevel
}

// NewText returns the text format; compression is "none" or "zstd".
func NewText(compression string) (*Text, error) {
	switch compression {
	case "", "none":
		return &Text{}, nil
	case "zstd":
		return &Text{zstd: true, level: zstd.SpeedDefault}, nil
	}
	return nil, fmt.Errorf("writer: text compression %q: want none or zstd", compression)
}

func (t *Text) Name() string { return "text" }

func (t *Text) Ext() string {
	if t.zstd {
		return ".txt.zst" // Hadoop picks its codec by the .zst suffix
	}
	return ".txt"
}

func (t *Text) NewEncoder(w io.Writer) (Encoder, error) {
	if !t.zstd {
		return &textEncoder{w: w}, nil
	}
	z, err := zstd.NewWriter(w, zstd.WithEncoderLevel(t.level), zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
	if err != nil {
		return nil, fmt.Errorf("writer: start zstd stream: %w", err)
	}
	return &textEncoder{w: z, z: z}, nil
}

type textEncoder struct {
	w io.Writer
	z *zstd.Encoder
}

var errNewline = &RecordError{Reason: "record contains a newline"}

func (e *textEncoder) Append(v []byte) error {
	if bytes.IndexByte(v, '\n') >= 0 {
		return errNewline
	}
	if _, err := e.w.Write(v); err != nil {
		return err
	}
	_, err := e.w.Write(nl)
	return err
}

var nl = []byte{'\n'}

func (e *textEncoder) Close(map[string]string) error {
	if e.z != nil {
		if err := e.z.Close(); err != nil {
			return fmt.Errorf("writer: finish zstd stream: %w", err)
		}
	}
	return nil
}
