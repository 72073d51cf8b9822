// Package committest reads a landfall table back the way a downstream reader
// would, for tests in this repository and end-to-end tests against HDFS: it
// finds every committed file, decodes it by its extension and reports which
// record ids it holds, so a test can prove exactly-once from the data itself.
package committest

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/landfall/landfall/index"
	"github.com/landfall/landfall/writer/fsys"
)

// Table is what a reader of the table finds.
type Table struct {
	IDs      map[string]int      // id → times found in committed data files
	Invalid  map[string][]string // id (or "raw:<bytes>") → reasons in the invalid sink
	Late     map[string]int      // id → times found in the late sink
	ByDir    map[string]int      // data records per partition directory
	Success  map[string]bool     // partitions with _SUCCESS
	Files    int
	Inflight []string // hidden files outside landfall's staging area
}

// Decoder turns a committed file into its records, for formats other than
// text (lzo, orc); the key is the file extension, e.g. ".lzo".
type Decoder func(r fsys.Reader) ([][]byte, error)

// IDPattern finds a record's unique id, as the generator writes it.
var IDPattern = regexp.MustCompile(`"id":"(\d+)"`)

// Read walks root (the table directory) in f.
func Read(f fsys.FS, decoders map[string]Decoder) (*Table, error) {
	t := NewTable()
	return t, t.walk(f, "", decoders)
}

// NewTable is an empty Table, for readers that find files another way
// (the file index) and Add them one by one.
func NewTable() *Table {
	return &Table{IDs: map[string]int{}, Invalid: map[string][]string{}, Late: map[string]int{}, ByDir: map[string]int{}, Success: map[string]bool{}}
}

// Add counts the records of one file of partition (or sink area) dir.
func (t *Table) Add(dir, p string, recs [][]byte) error {
	t.Files++
	return t.add(dir, p, recs)
}

func (t *Table) walk(f fsys.FS, dir string, decoders map[string]Decoder) error {
	ents, err := f.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		p := path.Join(dir, name)
		if e.IsDir() {
			if name == ".landfall" && dir == "" {
				continue
			}
			if err := t.walk(f, p, decoders); err != nil {
				return err
			}
			continue
		}
		switch {
		case name == "_SUCCESS":
			t.Success[dir] = true
			continue
		case strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_"):
			t.Inflight = append(t.Inflight, p)
			continue
		case !strings.HasPrefix(name, "part-"):
			return fmt.Errorf("unexpected file %s", p)
		case strings.HasSuffix(name, ".index"):
			continue
		}
		recs, err := ReadFile(f, p, decoders)
		if err != nil {
			return err
		}
		t.Files++
		if err := t.add(dir, p, recs); err != nil {
			return err
		}
	}
	return nil
}

func (t *Table) add(dir, p string, recs [][]byte) error {
	for _, rec := range recs {
		switch {
		case dir == "_invalid":
			var ir struct {
				Reason string `json:"reason"`
				Rec    string `json:"record_b64"`
			}
			if err := json.Unmarshal(rec, &ir); err != nil {
				return fmt.Errorf("%s: bad invalid-sink line %q: %w", p, rec, err)
			}
			raw, err := base64.StdEncoding.DecodeString(ir.Rec)
			if err != nil {
				return fmt.Errorf("%s: bad base64: %w", p, err)
			}
			key := "raw:" + string(raw)
			if m := IDPattern.FindSubmatch(raw); m != nil {
				key = string(m[1])
			}
			t.Invalid[key] = append(t.Invalid[key], ir.Reason)
		case strings.HasPrefix(dir, "_late/") || dir == "_late":
			if m := IDPattern.FindSubmatch(rec); m != nil {
				t.Late[string(m[1])]++
			}
		default:
			m := IDPattern.FindSubmatch(rec)
			if m == nil {
				return fmt.Errorf("%s: record without id: %q", p, rec)
			}
			t.IDs[string(m[1])]++
			t.ByDir[dir]++
		}
	}
	return nil
}

// ReadFile returns the records of one committed file: text (.txt,
// .txt.zst) line by line, other formats through decoders by extension.
func ReadFile(f fsys.FS, p string, decoders map[string]Decoder) ([][]byte, error) {
	r, err := f.Open(p)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	for ext, dec := range decoders {
		if strings.HasSuffix(p, ext) {
			recs, err := dec(r)
			if err != nil {
				return nil, fmt.Errorf("decode %s: %w", p, err)
			}
			return recs, nil
		}
	}
	var src io.Reader = r
	switch {
	case strings.HasSuffix(p, ".txt.zst"):
		z, err := zstd.NewReader(r)
		if err != nil {
			return nil, err
		}
		defer z.Close()
		src = z
	case strings.HasSuffix(p, ".txt"):
	default:
		return nil, fmt.Errorf("%s: no decoder for this file type", p)
	}
	var out [][]byte
	sc := bufio.NewScanner(src)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	return out, nil
}

// ReadHanded reads a file an index entry named, as a downstream reader
// must: at its path, or where a merge retired it since
// (index.RetiredPath).
func ReadHanded(f fsys.FS, logid, p string, decoders map[string]Decoder) ([][]byte, error) {
	recs, err := ReadFile(f, p, decoders)
	if errors.Is(err, fs.ErrNotExist) {
		return ReadFile(f, index.RetiredPath(logid, p), decoders)
	}
	return recs, err
}

// Check compares a table with what was produced: every id exactly once
// (data, invalid or late sink), malformed ones in the invalid sink, nothing
// unknown, nothing in flight. It returns a description of each problem,
// at most a few per kind.
func (t *Table) Check(produced map[string]bool, malformed map[string]bool) []string {
	var probs []string
	missing, dup := 0, 0
	for id := range produced {
		n := t.IDs[id] + len(t.Invalid[id]) + t.Late[id]
		switch {
		case n == 0:
			if missing++; missing <= 5 {
				probs = append(probs, fmt.Sprintf("record %s is missing", id))
			}
		case n > 1:
			if dup++; dup <= 5 {
				probs = append(probs, fmt.Sprintf("record %s found %d times (data %d, invalid %d, late %d)", id, n, t.IDs[id], len(t.Invalid[id]), t.Late[id]))
			}
		case malformed[id] && len(t.Invalid[id]) != 1:
			probs = append(probs, fmt.Sprintf("malformed record %s is not in the invalid sink", id))
		}
	}
	for id := range t.IDs {
		if !produced[id] {
			probs = append(probs, fmt.Sprintf("record %s was never produced", id))
			break
		}
	}
	if len(t.Inflight) > 0 {
		probs = append(probs, fmt.Sprintf("hidden or in-progress files outside staging: %v", t.Inflight))
	}
	if missing+dup > 0 {
		probs = append(probs, fmt.Sprintf("%d produced: %d missing, %d duplicated", len(produced), missing, dup))
	}
	return probs
}
