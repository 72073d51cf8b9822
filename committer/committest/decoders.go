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
	f, err := reader.Open(r, r.Size())
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := f.Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		fields, ok := rows.Value().([]reader.Field)
		if !ok {
			return nil, fmt.Errorf("row is %T, want a struct", rows.Value())
		}
		id := ""
		for _, fl := range fields {
			if fl.Name == "id" {
				id = fmt.Sprint(fl.Value)
			}
		}
		out = append(out, []byte(`{"id":`+strconv.Quote(id)+`}`))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if uint64(len(out)) != f.NumRows() {
		return nil, fmt.Errorf("read %d rows, the footer says %d", len(out), f.NumRows())
	}
	return out, nil
}
