package compactor

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/landfall/landfall/writer/fsys"
	"github.com/landfall/landfall/writer/lzo"
)

func put(t *testing.T, f fsys.FS, name string, data []byte) {
	t.Helper()
	w, err := f.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, f fsys.FS, name string) []byte {
	t.Helper()
	r, err := f.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// listed is what Hive's directory listing of a partition reads: names not
// starting with "." or "_".
func listed(t *testing.T, f fsys.FS, dir string) []string {
	t.Helper()
	infos, err := f.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, fi := range infos {
		if n := fi.Name(); !fi.IsDir() && !strings.HasPrefix(n, ".") && !strings.HasPrefix(n, "_") {
			out = append(out, n)
		}
	}
	return out
}

// TestStepsVisibility runs a merge of lzop files step by step on the local
// filesystem and checks what a directory lister and a reader of the old
// names see after each step, and that every step can run again.
func TestStepsVisibility(t *testing.T) {
	wh, err := fsys.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const dir, logid = "dt=20261121/hour=13", "clicks"
	var files []File
	var want []byte
	for i, n := range []int{300, 10, 2000} {
		txt := textLines(n, uint64(i))
		want = append(want, txt...)
		data := writeLZO(t, txt)
		name := path.Join(dir, "part-clicks-000000000"+string(rune('1'+i))+"-tok-0000.lzo")
		idx, err := lzo.BuildIndex(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		put(t, wh, name+lzo.IndexSuffix, idx)
		put(t, wh, name, data)
		files = append(files, File{Name: name, Size: int64(len(data)), Rows: int64(n), Format: "lzo", Sidecars: []string{lzo.IndexSuffix}})
	}
	sources := listed(t, wh, dir)
	groups := Plan(files, DefaultTarget)
	if len(groups) != 1 || len(groups[0].Files) != 3 {
		t.Fatalf("plan: %v", names(groups))
	}
	g := groups[0]
	final := MergedName(g)
	if final != path.Join(dir, "part-clicks-0000000001-tok-0000-m.lzo") {
		t.Fatalf("merged name %s", final)
	}

	// A leftover of a crashed attempt is replaced, not an error.
	put(t, wh, HiddenName(final), []byte("half a merge"))
	res, err := Write(context.Background(), wh, g, final)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != g.Rows {
		t.Fatalf("rows %d, want the group's %d", res.Rows, g.Rows)
	}
	if got := listed(t, wh, dir); !slices.Equal(got, sources) {
		t.Fatalf("after Write a lister sees %v, want only the sources %v", got, sources)
	}

	for range 2 { // Publish again after a crash is a no-op
		if err := Publish(wh, final, res); err != nil {
			t.Fatal(err)
		}
	}
	if got := listed(t, wh, dir); len(got) != len(sources)+2 {
		// The window the package doc describes: merged file and sources
		// together, before the commit writes _SUCCESS.
		t.Fatalf("after Publish a lister sees %v", got)
	}
	if idx := get(t, wh, final+lzo.IndexSuffix); !bytes.Equal(idx, res.Sidecars[0].Data) {
		t.Fatal("the published index is not the merge's")
	}

	for range 2 {
		if err := Retire(wh, logid, g); err != nil {
			t.Fatal(err)
		}
	}
	got := listed(t, wh, dir)
	if !slices.Equal(got, []string{path.Base(final), path.Base(final) + lzo.IndexSuffix}) {
		t.Fatalf("after Retire a lister sees %v, want only the merged file and its index", got)
	}
	zr, err := lzo.NewReader(bytes.NewReader(get(t, wh, final)))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(plain, want) {
		t.Fatalf("merged file: %v, %d bytes, want %d", err, len(plain), len(want))
	}
	// An index reader handed an old name finds the file at its retired
	// name, whole, until Delete.
	var old []byte
	for _, f := range g.Files {
		if _, err := wh.Stat(f.Name); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("source %s still in the partition: %v", f.Name, err)
		}
		r, err := lzo.NewReader(bytes.NewReader(get(t, wh, RetiredName(logid, f.Name))))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		old = append(old, b...)
		get(t, wh, RetiredName(logid, f.Name)+lzo.IndexSuffix)
	}
	if !bytes.Equal(old, want) {
		t.Fatal("the retired sources don't hold the records")
	}
	for range 2 {
		if err := Delete(wh, logid, g); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range g.Files {
		if _, err := wh.Stat(RetiredName(logid, f.Name)); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("retired %s after Delete: %v", f.Name, err)
		}
	}
}

// TestWriteAbortsOnError: a merge that fails leaves no hidden file behind,
// and a row count that disagrees with the plan is refused.
func TestWriteAbortsOnError(t *testing.T) {
	wh, err := fsys.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rows := genRows(50, 0, 9)
	a, b := writeORC(t, rows[:20], nil), writeORC(t, rows[20:], nil)
	put(t, wh, "p/a.orc", a)
	put(t, wh, "p/b.orc", b)
	g := Group{Files: []File{{Name: "p/a.orc", Size: int64(len(a)), Rows: 20, Format: "orc"}, {Name: "p/b.orc", Size: int64(len(b)), Rows: 31, Format: "orc"}}, Rows: 51}
	if _, err := Write(context.Background(), wh, g, "p/m.orc"); !errors.Is(err, ErrBadSource) {
		t.Fatalf("write with a wrong row count: %v, want ErrBadSource", err)
	}
	if _, err := wh.Stat(HiddenName("p/m.orc")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("hidden file after a failed merge: %v", err)
	}
	g.Files[1].Rows, g.Rows = 30, 50
	res, err := Write(context.Background(), wh, g, "p/m.orc")
	if err != nil || res.Rows != 50 {
		t.Fatalf("write: %v, %+v", err, res)
	}
	if err := Publish(wh, "p/m.orc", res); err != nil {
		t.Fatal(err)
	}
	if got := readValues(t, get(t, wh, "p/m.orc")); len(got) != 50 {
		t.Fatalf("merged rows %d", len(got))
	}
}
