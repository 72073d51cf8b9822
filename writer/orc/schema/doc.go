// Package schema is the ORC type tree that landfall's writer and reader
// share: parsed from Hive's type syntax (a table's schema), read from and
// written to a file's footer, and printed in one form that parses back.
package schema
