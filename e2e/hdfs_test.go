//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/landfall/landfall/writer/fsys"
)

// newHDFS returns the HDFS backend rooted at a fresh directory that is
// removed when the test ends.
func newHDFS(t *testing.T, root string) *fsys.HDFS {
	t.Helper()
	h, err := fsys.NewHDFS(fsys.HDFSOptions{
		Addresses:      []string{endpoint(t, "LANDFALL_E2E_HDFS")},
		Root:           root,
		RecoverTimeout: 2 * time.Minute,
	})
	if err != nil {
		t.Fatalf("connect to hdfs: %v", err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("close hdfs: %v", err)
		}
	})
	return h
}

func testRoot(t *testing.T) string {
	return fmt.Sprintf("/landfall-e2e/%s-%d", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano())
}

func TestHDFSConformance(t *testing.T) {
	fsys.Conformance(t, func(t *testing.T) fsys.FS { return newHDFS(t, testRoot(t)) })
}

// The deadline wrapper, with the client's native deadlines set through it,
// changes nothing a backend promises.
func TestHDFSDeadlineConformance(t *testing.T) {
	fsys.Conformance(t, func(t *testing.T) fsys.FS { return fsys.WithDeadline(newHDFS(t, testRoot(t)), time.Minute) })
}

func TestHDFSOpenURI(t *testing.T) {
	root := testRoot(t)
	f, err := fsys.Open("hdfs://" + endpoint(t, "LANDFALL_E2E_HDFS") + root)
	if err != nil {
		t.Fatalf("open hdfs URI: %v", err)
	}
	defer f.Close()
	if _, ok := f.(*fsys.HDFS); !ok {
		t.Fatalf("hdfs:// opened a %T", f)
	}
	st, err := f.Stat("")
	if err != nil || !st.IsDir() {
		t.Fatalf("root %s: %v (dir=%v)", root, err, err == nil && st.IsDir())
	}
}

// helperEnv makes the test binary act as a writer that a test kills.
// TestHDFSWriteAllocations pins that writing to a DataNode allocates
// nothing in proportion to the data: colinmarc/hdfs v2.4.0 allocated about
// 160 KiB for every 64 KiB packet (third_party/hdfs/README.md), which cost
// the writer 40% of its CPU. The few small allocations of reading each
// packet's acknowledgement are what is left.
func TestHDFSWriteAllocations(t *testing.T) {
	h := newHDFS(t, testRoot(t))
	f, err := h.Create("allocations")
	if err != nil {
		t.Fatal(err)
	}
	packet := patternBytes(0, 64<<10)
	write := func(n int) {
		for i := 0; i < n; i++ {
			if _, err := f.Write(packet); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(16) // connect to the DataNode, fill the pipeline
	const packets = 256
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	write(packets)
	runtime.ReadMemStats(&after)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	allocs := float64(after.Mallocs-before.Mallocs) / packets
	bytes := float64(after.TotalAlloc-before.TotalAlloc) / packets
	t.Logf("per 64 KiB packet: %.1f allocations, %.0f bytes", allocs, bytes)
	if bytes > 4<<10 {
		t.Errorf("writing allocated %.0f bytes per 64 KiB packet, want at most 4 KiB", bytes)
	}
}

const helperEnv = "LANDFALL_E2E_HDFS_WRITER"

// pattern is the deterministic content the helper writes: byte i is
// pattern(i), so any surviving prefix can be checked.
func pattern(i int) byte { return byte('a' + i%26) }

func patternBytes(from, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = pattern(from + i)
	}
	return b
}

// TestMain lets the test binary re-execute itself as the writing helper.
func TestMain(m *testing.M) {
	if spec := os.Getenv(helperEnv); spec != "" {
		if err := hdfsWriterHelper(spec); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// hdfsWriterHelper writes root/name: synced bytes in several Syncs, then
// unsynced bytes, prints "synced N" and waits to be killed.
// spec is "root|name|syncedBytes|unsyncedBytes".
func hdfsWriterHelper(spec string) error {
	parts := strings.Split(spec, "|")
	if len(parts) != 4 {
		return fmt.Errorf("bad spec %q", spec)
	}
	synced, err1 := strconv.Atoi(parts[2])
	unsynced, err2 := strconv.Atoi(parts[3])
	if err1 != nil || err2 != nil {
		return fmt.Errorf("bad sizes in %q", spec)
	}
	h, err := fsys.NewHDFS(fsys.HDFSOptions{
		Addresses: []string{os.Getenv("LANDFALL_E2E_HDFS")},
		Root:      parts[0],
		BlockSize: 1 << 20, // so that a few MiB span several blocks
	})
	if err != nil {
		return err
	}
	w, err := h.Create(parts[1])
	if err != nil {
		return err
	}
	off := 0
	for _, n := range []int{synced / 3, synced / 3, synced - 2*(synced/3)} {
		if n == 0 {
			continue
		}
		if _, err := w.Write(patternBytes(off, n)); err != nil {
			return err
		}
		off += n
		if err := w.Sync(); err != nil {
			return err
		}
	}
	if unsynced > 0 {
		if _, err := w.Write(patternBytes(off, unsynced)); err != nil {
			return err
		}
	}
	fmt.Printf("synced %d\n", off)
	time.Sleep(10 * time.Minute)
	return nil
}

// TestHDFSRecoverAfterWriterKilled kills (SIGKILL) a process that holds an
// HDFS file open, then recovers the file from this process: it must become
// closed and readable, hold every synced byte, and hold nothing but a prefix
// of what was written.
func TestHDFSRecoverAfterWriterKilled(t *testing.T) {
	for _, tc := range []struct {
		name             string
		synced, unsynced int
	}{
		{"SyncedThenMore", 300_000, 200_000},    // last block reopened for append, unfinalized
		{"NeverSynced", 0, 500_000},             // first block never finalized
		{"SyncedOnly", 1 << 20, 0},              // file complete at the kill
		{"AcrossBlocks", 3 << 20, 1<<20 + 5000}, // the helper uses 1 MiB blocks: the last of 5 is unfinalized
		{"CreatedEmpty", 0, 0},                  // no block at all
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := testRoot(t)
			h := newHDFS(t, root)
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|part|%d|%d", helperEnv, root, tc.synced, tc.unsynced))
			cmd.Stderr = os.Stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatalf("start writer: %v", err)
			}
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("writer did not report: %v", err)
			}
			var synced int
			if _, err := fmt.Sscanf(line, "synced %d", &synced); err != nil || synced != tc.synced {
				t.Fatalf("writer said %q", line)
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatalf("kill writer: %v", err)
			}
			_ = cmd.Wait()

			start := time.Now()
			if err := h.Recover("part"); err != nil {
				t.Fatalf("recover: %v", err)
			}
			t.Logf("recovered in %s", time.Since(start).Round(time.Millisecond))
			r, err := h.Open("part")
			if err != nil {
				t.Fatalf("open recovered file: %v", err)
			}
			defer r.Close()
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatalf("read recovered file: %v", err)
			}
			if r.Size() != int64(len(got)) {
				t.Fatalf("size %d but read %d bytes", r.Size(), len(got))
			}
			if len(got) < synced {
				t.Fatalf("recovered %d bytes, fewer than the %d synced", len(got), synced)
			}
			if len(got) > tc.synced+tc.unsynced {
				t.Fatalf("recovered %d bytes, more than the %d written", len(got), tc.synced+tc.unsynced)
			}
			if want := patternBytes(0, len(got)); !bytes.Equal(got, want) {
				t.Fatalf("recovered bytes are not a prefix of what was written")
			}
			// Recovery is idempotent, and the file is now closed for good.
			if err := h.Recover("part"); err != nil {
				t.Fatalf("second recover: %v", err)
			}
			t.Logf("synced %d, written %d, recovered %d", synced, tc.synced+tc.unsynced, len(got))
		})
	}
}

// TestHDFSDataNodeRestart restarts the only DataNode under an open file. The
// client does no pipeline recovery, so the writer must fail rather than
// report bytes as durable that never reached a replica; Recover must then
// give back every synced byte, and new files must work again.
func TestHDFSDataNodeRestart(t *testing.T) {
	h := newHDFS(t, testRoot(t))
	w, err := h.Create("part")
	if err != nil {
		t.Fatal(err)
	}
	const synced = 200_000
	if _, err := w.Write(patternBytes(0, synced)); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	// Reopens the file for append: a pipeline to the DataNode is open.
	if _, err := w.Write(patternBytes(synced, 100_000)); err != nil {
		t.Fatal(err)
	}

	service(t, "hdfs", "restart-datanode")

	written := synced + 100_000
	_, werr := w.Write(patternBytes(written, 300_000))
	if werr == nil {
		written += 300_000
		werr = w.Sync()
	}
	if werr == nil {
		// Only acceptable if every byte really is there.
		if err := w.Close(); err != nil {
			t.Fatalf("sync after the restart succeeded but close failed: %v", err)
		}
		got := readAll(t, h, "part")
		if !bytes.Equal(got, patternBytes(0, written)) {
			t.Fatalf("sync after a DataNode restart reported success but the file has %d of %d bytes", len(got), written)
		}
		t.Log("the writer survived the restart intact")
	} else {
		t.Logf("writer failed as expected: %v", werr)
		if err := w.Close(); err == nil {
			t.Fatal("close after a failed write succeeded")
		}
		if err := h.Recover("part"); err != nil {
			t.Fatalf("recover after the restart: %v", err)
		}
		got := readAll(t, h, "part")
		if len(got) < synced || !bytes.Equal(got, patternBytes(0, len(got))) {
			t.Fatalf("recovered %d bytes, want at least the %d synced and a prefix of what was written", len(got), synced)
		}
		t.Logf("recovered %d bytes (%d synced, %d written)", len(got), synced, written)
	}

	// The cluster takes new files again.
	w2, err := h.Create("after")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w2.Write(patternBytes(0, 1000)); err != nil {
		t.Fatal(err)
	}
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, h, "after"); !bytes.Equal(got, patternBytes(0, 1000)) {
		t.Fatalf("new file after the restart reads back %d bytes", len(got))
	}
}

func readAll(t *testing.T, f fsys.FS, name string) []byte {
	t.Helper()
	r, err := f.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return b
}
