package orc

import "github.com/landfall/landfall/writer/orc/schema"

// Type is a node of a table schema, the tree the reader returns too (see
// package schema). Columns are numbered by a pre-order walk of the tree,
// the root (always a struct) being column 0, as the ORC footer lists them.
type Type = schema.Type

// maxDecimalPrecision bounds decimal sums in the statistics.
const maxDecimalPrecision = 38

// ParseSchema parses a Hive type string such as
// "struct<ts:bigint,level:string,tags:map<string,string>>". The top level
// must be a struct: its fields are the table's columns. Field names are
// matched case-insensitively like Hive does, so they are stored lower case;
// two fields that differ only in case are an error.
func ParseSchema(s string) (*Type, error) { return schema.Parse(s) }
