package compactor

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func names(gs []Group) [][]string {
	out := [][]string{}
	for _, g := range gs {
		var n []string
		for _, f := range g.Files {
			n = append(n, f.Name)
		}
		out = append(out, n)
	}
	return out
}

func TestPlan(t *testing.T) {
	orc := func(name string, size int64, key string) File {
		return File{Name: name, Size: size, Rows: size / 10, Format: "orc", Key: key}
	}
	tests := []struct {
		name   string
		files  []File
		target int64
		want   [][]string
	}{{
		name:   "nothing to merge",
		files:  nil,
		target: 100,
		want:   [][]string{},
	}, {
		name:   "a lone small file stays",
		files:  []File{orc("a", 10, "k")},
		target: 100,
		want:   [][]string{},
	}, {
		name:   "fills until target is reached, in name order",
		files:  []File{orc("d", 30, "k"), orc("a", 40, "k"), orc("b", 40, "k"), orc("c", 20, "k"), orc("e", 45, "k")},
		target: 100,
		want:   [][]string{{"a", "b", "c"}, {"d", "e"}},
	}, {
		name:   "the file that crosses target closes its group",
		files:  []File{orc("a", 60, "k"), orc("b", 60, "k"), orc("c", 60, "k"), orc("d", 60, "k")},
		target: 100,
		want:   [][]string{{"a", "b"}, {"c", "d"}},
	}, {
		name:   "files of target or more are left alone",
		files:  []File{orc("a", 10, "k"), orc("b", 100, "k"), orc("c", 10, "k"), orc("d", 250, "k")},
		target: 100,
		want:   [][]string{{"a", "c"}},
	}, {
		name:   "incompatible keys and formats never mix",
		files:  []File{orc("a", 10, "k1"), orc("b", 10, "k2"), orc("c", 10, "k1"), {Name: "d", Size: 10, Format: "lzo"}, orc("e", 10, "k2"), {Name: "f", Size: 10, Format: "lzo"}},
		target: 100,
		want:   [][]string{{"a", "c"}, {"b", "e"}, {"d", "f"}},
	}, {
		name:   "a leftover single file is not a group",
		files:  []File{orc("a", 45, "k"), orc("b", 45, "k"), orc("c", 45, "k"), orc("d", 45, "k")},
		target: 100,
		want:   [][]string{{"a", "b", "c"}},
	}, {
		name:   "files without a format are skipped",
		files:  []File{orc("a", 1, "k"), {Name: "b", Size: 1}, orc("c", 1, "k")},
		target: 100,
		want:   [][]string{{"a", "c"}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Plan(tc.files, tc.target)
			if !slices.EqualFunc(names(got), tc.want, slices.Equal) {
				t.Fatalf("Plan: %v, want %v", names(got), tc.want)
			}
			for _, g := range got {
				var b, r int64
				for _, f := range g.Files {
					b += f.Size
					r += f.Rows
				}
				if g.Bytes != b || g.Rows != r || g.Bytes-g.Files[len(g.Files)-1].Size >= tc.target {
					t.Fatalf("group %v: bytes %d rows %d, files sum to %d and %d, target %d", names([]Group{g}), g.Bytes, g.Rows, b, r, tc.target)
				}
			}
		})
	}
}

// TestPlanBound: whatever the sizes, a partition of one kind ends with at
// most ceil(bytes / target) + 1 files, no merged file is more than one
// small file past target, and every file is in at most one group.
func TestPlanBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const target = 1000
	for trial := 0; trial < 2000; trial++ {
		var files []File
		var bytes int64
		n := rng.IntN(80)
		maxSize := 1 + rng.Int64N(2*target)
		for i := 0; i < n; i++ {
			sz := 1 + rng.Int64N(maxSize)
			bytes += sz
			files = append(files, File{Name: fmt.Sprintf("f%03d", i), Size: sz, Format: "text"})
		}
		gs := Plan(files, target)
		seen := map[string]bool{}
		merged := 0
		for _, g := range gs {
			if g.Bytes-g.Files[len(g.Files)-1].Size >= target {
				t.Fatalf("trial %d: a group of %d bytes kept growing past target", trial, g.Bytes)
			}
			for _, f := range g.Files {
				if seen[f.Name] {
					t.Fatalf("trial %d: %s in two groups", trial, f.Name)
				}
				seen[f.Name] = true
			}
			merged += len(g.Files)
		}
		after := len(files) - merged + len(gs)
		if limit := int((bytes+target-1)/target) + 1; after > limit {
			t.Fatalf("trial %d: %d files of %d bytes became %d, want at most %d", trial, len(files), bytes, after, limit)
		}
	}
}

// TestPlanFileCounts reports what the planner does to an hour of a quiet
// and of a busy logid with 10 s checkpoints (360 files per partition hour
// and writer), at DefaultTarget. File sizes assume ORC+zstd compresses
// 300-byte log records 8:1 (an assumption, not measured here).
func TestPlanFileCounts(t *testing.T) {
	for _, tc := range []struct {
		name       string
		recsPerSec int64
		want       int
	}{
		{"quiet: 100 records/s", 100, 1},
		{"busy: 20,000 records/s", 20_000, 10},
	} {
		perFile := tc.recsPerSec * 300 * 10 / 8
		var files []File
		for i := 0; i < 360; i++ {
			files = append(files, File{Name: fmt.Sprintf("part-clicks-%010d-tok-0000.orc", i), Size: perFile, Rows: tc.recsPerSec * 10, Format: "orc", Key: "k"})
		}
		gs := Plan(files, DefaultTarget)
		merged := 0
		for _, g := range gs {
			merged += len(g.Files)
		}
		after := len(gs) + (len(files) - merged)
		// NameNode objects: an inode and a block per small file; a merged
		// file of up to one block is an inode and a block too.
		t.Logf("%s: %d files of %d KiB per hour -> %d files (%d groups); NameNode objects per day %d -> %d",
			tc.name, len(files), perFile>>10, after, len(gs), 2*24*len(files), 2*24*after)
		if after != tc.want {
			t.Fatalf("%s: %d files after merging, want %d", tc.name, after, tc.want)
		}
	}
}
