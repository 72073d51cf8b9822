package index

import (
	"errors"
	"fmt"
	"io/fs"
	"path"

	"github.com/landfall/landfall/writer/fsys"
)

// OpenFile opens a data file an entry named: at its path, or, once a merge
// retired it, at the retired name under .landfall/<logid>/retired/ where it
// stays for index.file_retention. A reader handed a file before its merge
// thus reads it whatever the merge did meanwhile (FORMAT.md, "Retired
// files").
func OpenFile(f fsys.FS, logid, p string) (fsys.Reader, error) {
	r, err := f.Open(p)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return r, err
	}
	r, rerr := f.Open(RetiredPath(logid, p))
	if rerr == nil {
		return r, nil
	}
	if errors.Is(rerr, fs.ErrNotExist) {
		return nil, fmt.Errorf("index: open %s: not at its path nor retired: %w", p, err)
	}
	return nil, rerr
}

// RetiredPath is where a merge moves a source file of the table: out of its
// partition, at a name derived from the old one alone.
func RetiredPath(logid, p string) string { return path.Join(".landfall", logid, "retired", p) }
