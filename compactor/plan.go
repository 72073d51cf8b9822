package compactor

import (
	"slices"
	"strings"
)

// DefaultTarget is the merged file size the planner aims for: the HDFS
// block size most Hive warehouses use, so that a merged file is one block,
// one NameNode block object and one split.
const DefaultTarget = 256 << 20

// File is a committed data file of a partition, as the owner's state knows
// it: the planner does no I/O.
type File struct {
	// Name is the file's path under the table; files merge in name order,
	// which for part-<logid>-<checkpoint>-… names is checkpoint order.
	Name string
	Size int64
	Rows int64
	// Format is the executor: "orc", "lzo", "text" or "text+zstd".
	Format string
	// Key holds the format's settings that must match for files to share
	// one merged file: for ORC the schema, compression kind and block
	// size (ORCKey), for lzo the checksum flags. Files with different
	// formats or keys never merge together.
	Key string
	// Sidecars are the suffixes of the file's companions (".index").
	Sidecars []string
}

// Group is one merge: at least two compatible files, in name order.
type Group struct {
	Files []File
	Bytes int64 // sum of the files' sizes
	Rows  int64
}

// Plan groups a partition's files into merges of about target bytes
// (DefaultTarget if target <= 0). Files are taken in name order; a group
// holds files of one Format and Key only, in that order, and has at least
// two files (a file with nothing to merge with stays as it is). A group is
// closed when the next compatible file would take it past target, so no
// group exceeds target. Files of target/2 or more are left alone: merging
// them would rewrite a big file to absorb a small one, or make a file of
// more than one block. Files with an empty Format are left alone too.
// Groups come in the order of their first file.
func Plan(files []File, target int64) []Group {
	if target <= 0 {
		target = DefaultTarget
	}
	sorted := slices.Clone(files)
	slices.SortStableFunc(sorted, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	type open struct {
		g     Group
		first int // index in sorted of the group's first file, for the output order
	}
	var out []open
	cur := map[string]*open{}
	closeGroup := func(k string) {
		if o := cur[k]; o != nil && len(o.g.Files) >= 2 {
			out = append(out, *o)
		}
		delete(cur, k)
	}
	for i, f := range sorted {
		if f.Format == "" || f.Size*2 >= target {
			continue
		}
		k := f.Format + "\x00" + f.Key
		if o := cur[k]; o != nil && o.g.Bytes+f.Size > target {
			closeGroup(k)
		}
		o := cur[k]
		if o == nil {
			o = &open{first: i}
			cur[k] = o
		}
		o.g.Files = append(o.g.Files, f)
		o.g.Bytes += f.Size
		o.g.Rows += f.Rows
	}
	for k := range cur {
		closeGroup(k)
	}
	slices.SortFunc(out, func(a, b open) int { return a.first - b.first })
	groups := make([]Group, len(out))
	for i := range out {
		groups[i] = out[i].g
	}
	return groups
}
