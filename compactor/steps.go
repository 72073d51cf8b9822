package compactor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/landfall/landfall/index"
	"github.com/landfall/landfall/writer/fsys"
)

// The steps of one merge, in the order the pipeline calls them (see the
// package doc for what readers see between them). Each is idempotent, so
// that recovery can run a step again after a crash anywhere in it; none of
// them checks ownership, which the caller does before each step, since
// only it holds the fencing lease.

// hiddenPrefix marks a merge in progress: Hive, Spark and Trino skip names
// starting with "." and the index never lists them.
const hiddenPrefix = ".merge-"

// MergedName is the committed name of a group's merged file: the first
// source's name with "-m" before its extension. It sorts where the first
// source did (so a later plan keeps checkpoint order), can't collide with a
// name the checkpoint gives, and a merged file merged again gets "-m-m".
func MergedName(g Group) string {
	name := g.Files[0].Name
	dir, base := path.Split(name)
	stem, ext := base, ""
	if i := strings.IndexByte(base, '.'); i > 0 {
		stem, ext = base[:i], base[i:]
	}
	return dir + stem + "-m" + ext
}

// HiddenName is where Write puts the merged file before Publish: beside its
// final name, so that Publish is a rename within one directory.
func HiddenName(final string) string {
	dir, base := path.Split(final)
	return dir + hiddenPrefix + base
}

// RetiredName is where Retire moves a source: out of the partition, so a
// directory lister no longer sees it, and at a name derived from its old one
// only, so an index reader handed the old name before the merge can still
// find it there until the owner's garbage collector deletes it.
func RetiredName(logid, name string) string { return index.RetiredPath(logid, name) }

// Write merges the group into HiddenName(final) and its sidecars, each
// synced and closed, and returns what it wrote. A leftover of an earlier
// attempt at the same name is removed first: hidden files are read by
// nobody, so redoing the merge is always safe. Rows is the group's rows for
// formats that don't count them, and for ORC it must match them: a mismatch
// means the state and the files disagree, and the merge is refused.
func Write(ctx context.Context, wh fsys.FS, g Group, final string, opts ...Option) (Result, error) {
	if len(g.Files) < 2 {
		return Result{}, fmt.Errorf("compactor: write merge %s: a group of %d files", final, len(g.Files))
	}
	hidden := HiddenName(final)
	if err := Abort(wh, final, g.Files[0].Sidecars); err != nil {
		return Result{}, err
	}
	srcs := make([]Source, 0, len(g.Files))
	closeAll := func() {
		for _, s := range srcs {
			s.(fsys.Reader).Close()
		}
	}
	defer closeAll()
	for _, f := range g.Files {
		r, err := wh.Open(f.Name)
		if err != nil {
			return Result{}, fmt.Errorf("compactor: write merge %s: open %s: %w", final, f.Name, err)
		}
		srcs = append(srcs, r)
	}
	out, err := wh.Create(hidden)
	if err != nil {
		return Result{}, fmt.Errorf("compactor: write merge %s: %w", final, err)
	}
	res, err := merge(ctx, out, srcs, g.Files[0].Format, opts)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return Result{}, errors.Join(fmt.Errorf("compactor: write merge %s: %w", final, err), Abort(wh, final, g.Files[0].Sidecars))
	}
	switch {
	case res.Rows < 0:
		res.Rows = g.Rows
	case res.Rows != g.Rows:
		return Result{}, errors.Join(fmt.Errorf("compactor: write merge %s: %w: the files hold %d rows, the plan %d", final, ErrBadSource, res.Rows, g.Rows),
			Abort(wh, final, g.Files[0].Sidecars))
	}
	// A merged file gets only the sidecars its sources have: an lzo table
	// read with plain TextInputFormat has no .lzo.index, and one would be
	// read as rows there.
	res.Sidecars = slices.DeleteFunc(res.Sidecars, func(sc Sidecar) bool { return !slices.Contains(g.Files[0].Sidecars, sc.Suffix) })
	for _, sc := range res.Sidecars {
		if err := writeSynced(wh, hidden+sc.Suffix, sc.Data); err != nil {
			return Result{}, errors.Join(fmt.Errorf("compactor: write merge %s: %w", final, err), Abort(wh, final, g.Files[0].Sidecars))
		}
	}
	return res, nil
}

// merge picks the executor of a format.
func merge(ctx context.Context, out fsys.File, srcs []Source, format string, opts []Option) (Result, error) {
	switch format {
	case "orc":
		return MergeORC(ctx, out, srcs, opts...)
	case "lzo":
		return MergeLZO(ctx, out, srcs, opts...)
	case "text":
		return MergeText(ctx, out, srcs, false, opts...)
	case "text+zstd":
		return MergeText(ctx, out, srcs, true, opts...)
	}
	return Result{}, fmt.Errorf("compactor: no executor for format %q", format)
}

func writeSynced(f fsys.FS, name string, data []byte) error {
	w, err := f.Create(name)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	if err == nil {
		err = w.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// Abort removes what Write left at HiddenName(final), the data file and
// the given sidecar suffixes; names already gone are fine. Recovery calls it
// for a merge it abandons.
func Abort(f fsys.FS, final string, sidecars []string) error {
	hidden := HiddenName(final)
	var errs []error
	for _, name := range append(sidecarNames(hidden, sidecars), hidden) {
		if err := f.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("compactor: abort merge %s: remove %s: %w", final, name, err))
		}
	}
	return errors.Join(errs...)
}

func sidecarNames(name string, suffixes []string) []string {
	out := make([]string, len(suffixes))
	for i, s := range suffixes {
		out[i] = name + s
	}
	return out
}

// Publish renames the merged file and its sidecars from their hidden names
// to final, sidecars first, so that whoever sees the data file sees its
// index. It is done when it returns; run again after a crash it finishes
// what is left (a name already moved is skipped).
func Publish(f fsys.FS, final string, res Result) error {
	hidden := HiddenName(final)
	for _, sc := range res.Sidecars {
		if err := moveOnce(f, hidden+sc.Suffix, final+sc.Suffix); err != nil {
			return fmt.Errorf("compactor: publish merge %s: %w", final, err)
		}
	}
	if err := moveOnce(f, hidden, final); err != nil {
		return fmt.Errorf("compactor: publish merge %s: %w", final, err)
	}
	return nil
}

// Retire moves the group's sources, data file first and then its
// sidecars, out of the partition to their RetiredName. A lister stops
// seeing a source at its data file's rename, and the sidecars go after it
// for the same reason Publish puts them first. Run again after a crash it
// moves what is left.
func Retire(f fsys.FS, logid string, g Group) error {
	for _, src := range g.Files {
		for _, name := range append([]string{src.Name}, sidecarNames(src.Name, src.Sidecars)...) {
			if err := moveOnce(f, name, RetiredName(logid, name)); err != nil {
				return fmt.Errorf("compactor: retire %s: %w", src.Name, err)
			}
		}
	}
	return nil
}

// Delete removes the group's retired sources: the garbage collector calls
// it once index.file_retention has passed since the merge's index entry,
// when no index reader can still be handed their names. Names already gone
// are fine.
func Delete(f fsys.FS, logid string, g Group) error {
	var errs []error
	for _, src := range g.Files {
		for _, name := range append(sidecarNames(src.Name, src.Sidecars), src.Name) {
			r := RetiredName(logid, name)
			if err := f.Remove(r); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("compactor: delete retired %s: %w", r, err))
			}
		}
	}
	return errors.Join(errs...)
}

// moveOnce renames from to to, and accepts that it already happened: from
// gone and to there. Rename never replaces, so a to that exists while from
// does too is an error: two files claim one name.
func moveOnce(f fsys.FS, from, to string) error {
	err := f.Rename(from, to)
	if err == nil {
		return nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := f.Stat(to); serr == nil {
			return nil
		}
	}
	return fmt.Errorf("rename %s to %s: %w", from, to, err)
}
