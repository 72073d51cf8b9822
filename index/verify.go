package index

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/landfall/landfall/writer/fsys"
)

// Difference is one disagreement between the index and the warehouse.
type Difference struct {
	Path    string
	Problem string
}

func (d Difference) String() string { return d.Path + ": " + d.Problem }

// indexedAreas are the "_" directories at the table root whose files are
// indexed (the sinks); every other name starting with "." or "_" is
// invisible to Hive and not data (_SUCCESS, .landfall, staging).
var indexedAreas = map[string]bool{"_invalid": true, "_late": true}

// Verify checks the index of logid against the table on f: every live file
// exists with its size (and its sidecars exist), and every visible data
// file, and every file of the sink areas, is live in the index. It lists
// the whole table, so it is an operator's check, not a reader's step; a
// file being committed while it runs may show up as not yet indexed.
func Verify(ctx context.Context, f fsys.FS, logid string) ([]Difference, error) {
	live, err := Open(f, logid).Live(ctx)
	if err != nil {
		return nil, err
	}
	want := map[string]int64{}
	sidecars := map[string]bool{}
	for _, lf := range live.Files {
		want[lf.Path] = lf.Size
		for _, s := range lf.Sidecars {
			sidecars[lf.Path+s] = true
		}
	}
	var diffs []Difference
	seen := map[string]bool{}
	var walk func(dir string, top bool) error
	walk = func(dir string, top bool) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		ents, err := f.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("index: verify: list %s: %w", dir, err)
		}
		for _, e := range ents {
			name := e.Name()
			if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") && !(top && indexedAreas[name]) {
				continue
			}
			p := path.Join(dir, name)
			if dir == "." {
				p = name
			}
			if e.IsDir() {
				if err := walk(p, false); err != nil {
					return err
				}
				continue
			}
			seen[p] = true
			size, ok := want[p]
			switch {
			case sidecars[p]:
			case !ok:
				diffs = append(diffs, Difference{p, fmt.Sprintf("not in the index (%d bytes)", e.Size())})
			case size != e.Size():
				diffs = append(diffs, Difference{p, fmt.Sprintf("size %d, the index says %d", e.Size(), size)})
			}
		}
		return nil
	}
	if err := walk(".", true); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for p := range want {
		if !seen[p] {
			diffs = append(diffs, Difference{p, "in the index, missing from the warehouse"})
		}
	}
	for p := range sidecars {
		if !seen[p] {
			diffs = append(diffs, Difference{p, "sidecar in the index, missing from the warehouse"})
		}
	}
	sort.Slice(diffs, func(i, j int) bool { return diffs[i].Path < diffs[j].Path })
	return diffs, nil
}
