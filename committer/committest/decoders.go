package committest

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"

	"github.com/landfall/landfall/writer/fsys"
	"github.com/landfall/landfall/writer/lzo"
	"github.com/landfall/landfall/writer/orc/reader"
)

// Decoders read landfall's own formats with the project's own readers: lzop
// files line by line, ORC files row by row (each row reduced to its id
// column, which is what Check needs).
var Decoders = map[string]Decoder{".lzo": decodeLzo, ".orc": decodeORC}

func decodeLzo(r fsys.Reader) ([][]byte, error) {
	zr, err := lzo.NewReader(r)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		out = append(out, bytes.Clone(sc.Bytes()))
	}
	return out, sc.Err()
}

func decodeORC(r fsys.Reader) ([][]byte, error) {
	var out [][]byte
	err := ORCRows(r, func(fields []reader.Field) error {
		id := ""
		for _, fl := range fields {
			if fl.Name == "id" {
				id = fmt.Sprint(fl.Value)
			}
		}
		out = append(out, []byte(`{"id":`+strconv.Quote(id)+`}`))
		return nil
	})
	return out, err
}

// ORCRows calls fn with the top-level fields of every row of an ORC file,
// in order, and checks that it read as many rows as the footer says.
func ORCRows(r fsys.Reader, fn func([]reader.Field) error) error {
	f, err := reader.Open(r, r.Size())
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := f.Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	var n uint64
	for rows.Next() {
		fields, ok := rows.Value().([]reader.Field)
		if !ok {
			return fmt.Errorf("row is %T, want a struct", rows.Value())
		}
		if err := fn(fields); err != nil {
			return err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n != f.NumRows() {
		return fmt.Errorf("read %d rows, the footer says %d", n, f.NumRows())
	}
	return nil
}
