package fsys

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"testing"
)

// Conformance runs the acceptance cases every backend must pass. newFS
// returns an empty filesystem for one case.
func Conformance(t *testing.T, newFS func(t *testing.T) FS) {
	t.Run("CreateWriteSyncReadBack", func(t *testing.T) {
		f := newFS(t)
		w, err := f.Create("a/b/.part-1.inprogress")
		if err != nil {
			t.Fatal(err)
		}
		want := bytes.Repeat([]byte("landfall\n"), 10000)
		if _, err := w.Write(want); err != nil {
			t.Fatal(err)
		}
		if err := w.Sync(); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := f.Open("a/b/.part-1.inprogress")
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if r.Size() != int64(len(want)) {
			t.Fatalf("size %d, want %d", r.Size(), len(want))
		}
		got, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("read back %d bytes that differ from the %d written", len(got), len(want))
		}
		tail := make([]byte, 9)
		if _, err := r.ReadAt(tail, int64(len(want)-9)); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if string(tail) != "landfall\n" {
			t.Fatalf("ReadAt tail = %q", tail)
		}
	})
	t.Run("CreateExistingFails", func(t *testing.T) {
		f := newFS(t)
		mustWrite(t, f, "x", "1")
		if _, err := f.Create("x"); !errors.Is(err, fs.ErrExist) {
			t.Fatalf("create existing: %v, want fs.ErrExist", err)
		}
	})
	t.Run("RenameNeverReplaces", func(t *testing.T) {
		f := newFS(t)
		mustWrite(t, f, "src", "new")
		mustWrite(t, f, "dst/file", "old")
		if err := f.Rename("src", "dst/file"); !errors.Is(err, fs.ErrExist) {
			t.Fatalf("rename onto existing: %v, want fs.ErrExist", err)
		}
		if got := mustRead(t, f, "dst/file"); got != "old" {
			t.Fatalf("destination changed to %q", got)
		}
		if got := mustRead(t, f, "src"); got != "new" {
			t.Fatalf("source changed to %q", got)
		}
	})
	t.Run("RenameCreatesParentsAndMoves", func(t *testing.T) {
		f := newFS(t)
		mustWrite(t, f, ".staging/p1", "data")
		if err := f.Rename(".staging/p1", "dt=1/hr=2/part-1"); err != nil {
			t.Fatal(err)
		}
		if got := mustRead(t, f, "dt=1/hr=2/part-1"); got != "data" {
			t.Fatalf("moved file holds %q", got)
		}
		if _, err := f.Stat(".staging/p1"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("source still there: %v", err)
		}
		if err := f.Rename(".staging/p1", "dt=1/hr=2/part-2"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("rename of a missing file: %v, want fs.ErrNotExist", err)
		}
	})
	t.Run("ReadDirSortedAndRemove", func(t *testing.T) {
		f := newFS(t)
		for _, n := range []string{"d/c", "d/a", "d/b"} {
			mustWrite(t, f, n, n)
		}
		if err := f.MkdirAll("d/sub"); err != nil {
			t.Fatal(err)
		}
		ents, err := f.ReadDir("d")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		if want := "[a b c sub]"; fmtList(names) != want {
			t.Fatalf("ReadDir = %v, want %s", names, want)
		}
		if !ents[3].IsDir() || ents[0].IsDir() || ents[0].Size() != 3 {
			t.Fatalf("bad FileInfo: %v dir=%v size=%d", ents[3].Name(), ents[3].IsDir(), ents[0].Size())
		}
		if err := f.Remove("d/a"); err != nil {
			t.Fatal(err)
		}
		if err := f.Remove("d/a"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("remove missing: %v, want fs.ErrNotExist", err)
		}
		if _, err := f.ReadDir("nope"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("list missing dir: %v, want fs.ErrNotExist", err)
		}
	})
	t.Run("RecoverClosedFile", func(t *testing.T) {
		f := newFS(t)
		mustWrite(t, f, "r", "abc")
		if err := f.Recover("r"); err != nil {
			t.Fatal(err)
		}
		if err := f.Recover("missing"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("recover missing: %v, want fs.ErrNotExist", err)
		}
	})
	conformanceSyncRenameRecover(t, newFS)
}

func fmtList(s []string) string {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, x := range s {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(x)
	}
	b.WriteByte(']')
	return b.String()
}

func mustWrite(t *testing.T, f FS, name, data string) {
	t.Helper()
	w, err := f.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, data); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func mustRead(t *testing.T, f FS, name string) string {
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
	return string(b)
}

// conformanceSyncRenameRecover: a file synced several times, two renames
// racing for one name (a zombie and its successor), and recovery of a file
// whose writer is still open.
func conformanceSyncRenameRecover(t *testing.T, newFS func(t *testing.T) FS) {
	t.Run("SyncManyTimes", func(t *testing.T) {
		f := newFS(t)
		w, err := f.Create("s/part")
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		for i := 0; i < 5; i++ {
			// Sizes that cross checksum chunks and packets unevenly.
			chunk := bytes.Repeat([]byte{byte('a' + i)}, 700+i*70001)
			want.Write(chunk)
			if _, err := w.Write(chunk); err != nil {
				t.Fatalf("write %d: %v", i, err)
			}
			if err := w.Sync(); err != nil {
				t.Fatalf("sync %d: %v", i, err)
			}
		}
		if err := w.Sync(); err != nil {
			t.Fatalf("sync with nothing new: %v", err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got := mustRead(t, f, "s/part"); got != want.String() {
			t.Fatalf("read back %d bytes, want %d (or contents differ)", len(got), want.Len())
		}
		st, err := f.Stat("s/part")
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() != int64(want.Len()) {
			t.Fatalf("stat size %d, want %d", st.Size(), want.Len())
		}
	})
	t.Run("RenameRaceOneWins", func(t *testing.T) {
		f := newFS(t)
		const n = 4
		for i := 0; i < n; i++ {
			mustWrite(t, f, fmt.Sprintf("src%d", i), fmt.Sprint(i))
		}
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			go func() { errs <- f.Rename(fmt.Sprintf("src%d", i), "dst/committed") }()
		}
		var won, lost int
		for i := 0; i < n; i++ {
			switch err := <-errs; {
			case err == nil:
				won++
			case errors.Is(err, fs.ErrExist):
				lost++
			default:
				t.Errorf("rename: %v", err)
			}
		}
		if won != 1 || lost != n-1 {
			t.Fatalf("%d renames won and %d lost, want 1 and %d", won, lost, n-1)
		}
		got := mustRead(t, f, "dst/committed")
		if _, err := f.Stat("src" + got); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("winner src%s still there: %v", got, err)
		}
	})
	t.Run("RecoverOpenFile", func(t *testing.T) {
		f := newFS(t)
		w, err := f.Create("open/part")
		if err != nil {
			t.Fatal(err)
		}
		synced := bytes.Repeat([]byte("synced\n"), 3000)
		if _, err := w.Write(synced); err != nil {
			t.Fatal(err)
		}
		if err := w.Sync(); err != nil {
			t.Fatal(err)
		}
		// Bytes after the last Sync may or may not survive recovery.
		if _, err := w.Write([]byte("unsynced tail\n")); err != nil {
			t.Fatal(err)
		}
		if err := f.Recover("open/part"); err != nil {
			t.Fatalf("recover a file whose writer is open: %v", err)
		}
		got := mustRead(t, f, "open/part")
		if len(got) < len(synced) || got[:len(synced)] != string(synced) {
			t.Fatalf("recovered file has %d bytes, want the %d synced ones first", len(got), len(synced))
		}
		// The writer lost its lease on HDFS, so its Close may fail; it must
		// not change the recovered file.
		_ = w.Close()
		if again := mustRead(t, f, "open/part"); again != got {
			t.Fatalf("closing the old writer changed the recovered file from %d to %d bytes", len(got), len(again))
		}
	})
}
