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
// closed as soon as it holds target bytes or more, so every group but the
// last of each kind reaches target, and a partition of one kind ends with
// at most ceil(bytes / target) + 1 files: what Hive and HDFS operators
// expect of a merge, at the price of merged files up to one small file
// larger than target. Files of target or more are left alone, and so are
// files with an empty Format. Groups come in the order of their first
// file.
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
		if f.Format == "" || f.Size >= target {
			continue
		}
		k := f.Format + "\x00" + f.Key
		o := cur[k]
		if o == nil {
			o = &open{first: i}
			cur[k] = o
		}
		o.g.Files = append(o.g.Files, f)
		o.g.Bytes += f.Size
		o.g.Rows += f.Rows
		if o.g.Bytes >= target {
			closeGroup(k)
		}
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
