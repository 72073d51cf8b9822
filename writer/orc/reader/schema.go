package reader

import "github.com/landfall/landfall/writer/orc/schema"

// Type is one node of a file's schema, the tree the writer uses too (see
// package schema). ID is the column id (the index into the footer's types
// and into column statistics); the children of a node have the ids ID+1 ..
// MaxID in pre-order.
type Type = schema.Type
