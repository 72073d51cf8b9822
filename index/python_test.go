package index

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/landfall/landfall/internal/testenv"
	"github.com/landfall/landfall/writer"
	"github.com/landfall/landfall/writer/fsys"
	"github.com/landfall/landfall/writer/lzo"
	"github.com/landfall/landfall/writer/orc"
)

// TestPythonFollow runs examples/follow.py (pyarrow) against an index and
// real data files in every format: from 0, earliest, a saved cursor and
// latest it reads each record exactly once, skips the merge's rewrite and
// the lzo file (with a message), and saves the cursor. Without pyarrow it
// fails: `make test-deps` installs it.
func TestPythonFollow(t *testing.T) {
	if out, err := exec.Command(testenv.Python3(t), "-c", "import pyarrow, pyarrow.orc, pyarrow.json").CombinedOutput(); err != nil {
		t.Fatalf("python3 can't import pyarrow (run `make test-deps`): %v\n%s", err, out)
	}
	f := newLocal(t)
	l := NewLog(f, "clicks")
	text, err := writer.NewText("none")
	if err != nil {
		t.Fatal(err)
	}
	zst, err := writer.NewText("zstd")
	if err != nil {
		t.Fatal(err)
	}
	schema, err := orc.ParseSchema("struct<ts:bigint,id:string>")
	if err != nil {
		t.Fatal(err)
	}
	orcF, err := orc.NewFormat(schema)
	if err != nil {
		t.Fatal(err)
	}
	lzoF, err := lzo.NewFormat()
	if err != nil {
		t.Fatal(err)
	}
	const p = "log_date=20240301/log_hour=00"
	n := uint64(0)
	publish := func(actions ...Action) {
		n++
		writeAndPublish(t, l, &Entry{N: n, Checkpoint: n, Actions: actions})
	}
	add := func(fm writer.Format, name string, ids ...string) *File {
		return writeData(t, f, fm, path.Join(p, name+fm.Ext()), p, ids)
	}
	a1 := add(text, "part-1", "r1", "r2", "r3")
	publish(Action{Add: a1})
	a2 := add(orcF, "part-2", "r4", "r5", "r6")
	publish(Action{Add: a2})
	publish(Action{Add: add(zst, "part-3", "r7", "r8")},
		Action{PartitionComplete: &PartitionComplete{Partition: "log_date=20240229/log_hour=23", Files: 1, Rows: 1, Bytes: 1, CommitKey: "k"}})
	if err := l.Snapshot(3); err != nil {
		t.Fatal(err)
	}
	publish(Action{Add: add(lzoF, "part-4", "r9")})
	merged := add(text, "merged-1", "r1", "r2", "r3", "r4", "r5", "r6")
	merged.DataChange, merged.Merge = false, "m-1"
	rm1, rm2 := *a1, *a2
	rm1.DataChange, rm2.DataChange = false, false
	rm1.Merge, rm2.Merge = "m-1", "m-1"
	publish(Action{Remove: &rm1}, Action{Remove: &rm2}, Action{Add: merged})
	publish(Action{Add: add(text, "part-6", "r10", "r11")})

	all := "[r1 r10 r11 r2 r3 r4 r5 r6 r7 r8]"
	cursorFile := filepath.Join(t.TempDir(), "cursor")
	for _, c := range []struct{ from, want string }{
		{"0", all}, {"earliest", all}, {"3", "[r10 r11]"}, {"5", "[r10 r11]"}, {"6", "[]"}, {"latest", "[]"},
	} {
		ids, stderr := runFollowPy(t, f.Root(), "--from", c.from, "--records", "--cursor-file", cursorFile)
		if ids != c.want {
			t.Errorf("from %s: records %s, want %s\n%s", c.from, ids, c.want, stderr)
		}
		if c.from != "6" && c.from != "latest" {
			if !strings.Contains(stderr, "skip "+p+"/part-4.lzo") && c.from != "5" {
				t.Errorf("from %s: no message about the skipped lzo file:\n%s", c.from, stderr)
			}
			if b, _ := os.ReadFile(cursorFile); strings.TrimSpace(string(b)) != "6" {
				t.Errorf("from %s: saved cursor %q, want 6", c.from, b)
			}
		}
	}
	// Resume from the saved cursor: nothing new; then one more entry.
	publish(Action{Add: add(text, "part-7", "r12")})
	if ids, stderr := runFollowPy(t, f.Root(), "--records", "--cursor-file", cursorFile); ids != "[r12]" {
		t.Errorf("resumed from the cursor file: %s\n%s", ids, stderr)
	}
}

func runFollowPy(t *testing.T, root string, args ...string) (ids, stderr string) {
	t.Helper()
	cmd := exec.Command(testenv.Python3(t), append([]string{filepath.Join("examples", "follow.py"), "file://" + root, "clicks"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("follow.py %v: %v\n%s", args, err, errb.String())
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if line == "" {
			continue
		}
		var rec struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("follow.py printed %q: %v", line, err)
		}
		got = append(got, rec.ID)
	}
	sort.Strings(got)
	return fmt.Sprint(got), errb.String()
}

// writeData writes a committed data file of records {"ts":…,"id":…} with
// the project's writer, the way the pipeline does: staging name, roll,
// close, rename (sidecars first).
func writeData(t *testing.T, f fsys.FS, fm writer.Format, name, partition string, ids []string) *File {
	t.Helper()
	staging := path.Join(".landfall/clicks/staging", path.Base(name))
	part, err := writer.Create(f, fm, staging)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		if err := part.Append(fmt.Appendf(nil, `{"ts":%d,"id":%q}`, 1709251200000+int64(i), id)); err != nil {
			t.Fatal(err)
		}
	}
	r, err := part.Roll(map[string]string{"landfall.logid": "clicks"})
	if err != nil {
		t.Fatal(err)
	}
	if err := part.Close(); err != nil {
		t.Fatal(err)
	}
	for _, s := range r.Sidecars {
		if err := f.Rename(staging+s, name+s); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Rename(staging, name); err != nil {
		t.Fatal(err)
	}
	return &File{Path: name, Partition: partition, Size: r.Size, Rows: r.Rows, Format: fm.Name(),
		Offsets: map[int32][2]int64{0: {0, int64(len(ids) - 1)}}, Sidecars: r.Sidecars, DataChange: true}
}
