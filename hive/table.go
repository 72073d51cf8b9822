package hive

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	hms "github.com/beltran/gohive/hive_metastore"
)

// Column is a column or partition key: its name and Hive type
// ("string", "bigint", "array<string>", "decimal(10,2)").
type Column struct {
	Name    string `yaml:"name"`
	Type    string `yaml:"type"`
	Comment string `yaml:"comment,omitempty"`
}

// Table describes a Hive table as landfall needs it. The table is the source
// of truth: the writer's format and schema are derived from it, never
// configured beside it.
type Table struct {
	Database      string
	Name          string
	Type          string // MANAGED_TABLE, EXTERNAL_TABLE, VIRTUAL_VIEW
	Columns       []Column
	PartitionKeys []Column
	Location      string
	InputFormat   string
	OutputFormat  string
	SerDe         string
	SerDeParams   map[string]string
	Parameters    map[string]string

	// raw is the metastore's object; the metastore step copies its storage
	// descriptor into every partition.
	raw *hms.Table
}

// Storage classes landfall recognises.
const (
	OrcInputFormat   = "org.apache.hadoop.hive.ql.io.orc.OrcInputFormat"
	OrcOutputFormat  = "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat"
	OrcSerDe         = "org.apache.hadoop.hive.ql.io.orc.OrcSerde"
	TextInputFormat  = "org.apache.hadoop.mapred.TextInputFormat"
	TextOutputFormat = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
	LzoInputFormat   = "com.hadoop.mapred.DeprecatedLzoTextInputFormat"
	LazySimpleSerDe  = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
)

// Format names, as writer.Format.Name returns them.
const (
	FormatORC  = "orc"
	FormatLZO  = "lzo"
	FormatText = "text"
)

// LoadTable reads a table from the metastore. A missing table is a permanent
// error wrapping ErrNotFound: landfall does not create tables (see DDL).
func (c *Client) LoadTable(ctx context.Context, db, table string) (*Table, error) {
	t, err := c.GetTable(ctx, db, table)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, Permanent(fmt.Errorf("%w; create it first (landfall hive ddl prints the statement)", err))
		}
		return nil, err
	}
	return tableFromHive(t)
}

func tableFromHive(t *hms.Table) (*Table, error) {
	if t.Sd == nil {
		return nil, Permanent(fmt.Errorf("hive: table %s.%s has no storage descriptor (a view?); landfall writes only tables", t.DbName, t.TableName))
	}
	out := &Table{
		Database:     t.DbName,
		Name:         t.TableName,
		Type:         t.TableType,
		Location:     t.Sd.Location,
		InputFormat:  t.Sd.InputFormat,
		OutputFormat: t.Sd.OutputFormat,
		Parameters:   t.Parameters,
		raw:          t,
	}
	if t.Sd.SerdeInfo != nil {
		out.SerDe = t.Sd.SerdeInfo.SerializationLib
		out.SerDeParams = t.Sd.SerdeInfo.Parameters
	}
	for _, f := range t.Sd.Cols {
		out.Columns = append(out.Columns, Column{Name: f.Name, Type: f.Type, Comment: f.Comment})
	}
	for _, f := range t.PartitionKeys {
		out.PartitionKeys = append(out.PartitionKeys, Column{Name: f.Name, Type: f.Type, Comment: f.Comment})
	}
	return out, nil
}

// Format is the writer format the table's storage calls for: "orc" for
// OrcInputFormat or OrcSerde, "lzo" for an LZO text input format (hadoop-lzo's
// DeprecatedLzoTextInputFormat and relatives), "text" for TextInputFormat.
// Anything else wraps ErrUnsupportedFormat.
func (t *Table) Format() (string, error) {
	in := t.InputFormat
	switch {
	case in == OrcInputFormat || t.SerDe == OrcSerDe:
		return FormatORC, nil
	case strings.Contains(strings.ToLower(in), "lzo") && strings.Contains(in, "TextInputFormat"):
		return FormatLZO, nil
	case in == TextInputFormat:
		return FormatText, nil
	}
	return "", Permanent(fmt.Errorf("%w: %s.%s has input format %q (serde %q); landfall writes ORC (OrcInputFormat), LZO text (%s) or text (TextInputFormat)",
		ErrUnsupportedFormat, t.Database, t.Name, in, t.SerDe, LzoInputFormat))
}

// Schema is the table's data columns (partition keys excluded: they live in
// the path) as a Hive type string, "struct<id:bigint,msg:string>", which
// orc.ParseSchema reads. Names that are not plain identifiers are quoted
// with backticks, as Hive and ORC do.
func (t *Table) Schema() string {
	var b strings.Builder
	b.WriteString("struct<")
	for i, c := range t.Columns {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quoteName(c.Name))
		b.WriteByte(':')
		b.WriteString(c.Type)
	}
	b.WriteByte('>')
	return b.String()
}

var plainName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func quoteName(n string) string {
	if plainName.MatchString(n) {
		return n
	}
	return "`" + strings.ReplaceAll(n, "`", "``") + "`"
}

// Expect is what landfall is configured to do with a table, for Check.
type Expect struct {
	// Format is the configured writer format ("orc", "lzo", "text"); empty
	// means "whatever the table says".
	Format string
	// PartitionKeys are the keys the configured partition pattern produces,
	// in path order, e.g. [log_date log_hour].
	PartitionKeys []string
	// LzoAsText accepts, for Format "lzo", a plain TextInputFormat table
	// (format.lzo_input_format: text) instead of an LZO input format.
	LzoAsText bool
	// FormatKey and PartitionKey name the config keys in messages
	// (default "format" and "partition.pattern").
	FormatKey       string
	PartitionKeyKey string
}

// MismatchError is one disagreement between the table and the config, with
// the fix. It wraps ErrMismatch and is permanent.
type MismatchError struct {
	Key   string // the config key involved
	Table string // db.table
	Msg   string
	Fix   string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%s: %s: table %s %s; %s", e.Key, ErrMismatch.Error(), e.Table, e.Msg, e.Fix)
}

func (e *MismatchError) Unwrap() error { return ErrMismatch }

// Check compares the table with what landfall is configured to do and
// returns every mismatch (joined, each a *MismatchError naming the key and
// the fix), or nil. Run it at start: writing files the table can't read is
// worse than not starting.
func Check(t *Table, want Expect) error {
	fkey, pkey := want.FormatKey, want.PartitionKeyKey
	if fkey == "" {
		fkey = "format"
	}
	if pkey == "" {
		pkey = "partition.pattern"
	}
	name := t.Database + "." + t.Name
	var errs []error
	add := func(key, msg, fix string) {
		errs = append(errs, Permanent(&MismatchError{Key: key, Table: name, Msg: msg, Fix: fix}))
	}

	if strings.EqualFold(t.Parameters["transactional"], "true") {
		add("hive.table", "is transactional (ACID)",
			"landfall adds plain files, which an ACID table does not read; land into an external, non-transactional table (landfall hive ddl prints one)")
	}
	if t.Type == "VIRTUAL_VIEW" || t.Type == "MATERIALIZED_VIEW" {
		add("hive.table", "is a view", "point hive.table at the table itself")
	}
	if t.Location == "" {
		add("hive.table", "has no location", "set one with ALTER TABLE … SET LOCATION")
	}
	if len(t.Columns) == 0 {
		add("hive.table", "has no columns", "create the table with its columns (landfall hive ddl)")
	}

	got, err := t.Format()
	if err != nil {
		add(fkey, fmt.Sprintf("has input format %q and serde %q, which landfall cannot write", t.InputFormat, t.SerDe),
			"use an ORC, LZO text or text table")
	} else if want.Format == FormatLZO && want.LzoAsText && got != FormatLZO {
		if got != FormatText {
			add(fkey, fmt.Sprintf("is %s (input format %s) but the config says lzo read with TextInputFormat", strings.ToUpper(got), t.InputFormat),
				fmt.Sprintf("set %s: %s, or remove it to follow the table", fkey, got))
		}
	} else if want.Format == FormatLZO && want.LzoAsText {
		add("format.lzo_input_format", fmt.Sprintf("reads lzo with %s, which wants a .lzo.index beside every file, but the config says text (no index)", t.InputFormat),
			"set format.lzo_input_format: hadoop-lzo, or create the table with TextInputFormat (landfall hive ddl)")
	} else if want.Format == FormatLZO && got == FormatText {
		add("format.lzo_input_format", fmt.Sprintf("reads with %s, which would read every .lzo.index as rows", t.InputFormat),
			"set format.lzo_input_format: text (no index is written), or create the table with hadoop-lzo's input format")
	} else if want.Format != "" && want.Format != got {
		add(fkey, fmt.Sprintf("is %s (input format %s) but the config says %q", strings.ToUpper(got), t.InputFormat, want.Format),
			fmt.Sprintf("set %s: %s, or remove it to follow the table", fkey, got))
	}
	if got == FormatORC && t.SerDe != "" && t.SerDe != OrcSerDe {
		add(fkey, fmt.Sprintf("reads ORC files with serde %q", t.SerDe), "use "+OrcSerDe)
	}

	if want.PartitionKeys != nil {
		tableKeys := make([]string, len(t.PartitionKeys))
		for i, k := range t.PartitionKeys {
			tableKeys[i] = strings.ToLower(k.Name)
		}
		cfgKeys := make([]string, len(want.PartitionKeys))
		for i, k := range want.PartitionKeys {
			cfgKeys[i] = strings.ToLower(k)
		}
		for _, k := range tableKeys {
			if !contains(cfgKeys, k) {
				add(pkey, fmt.Sprintf("has partition key %q that the partition pattern does not produce (pattern keys %v)", k, cfgKeys),
					fmt.Sprintf("add %s=… to %s, or use a table partitioned by %v", k, pkey, cfgKeys))
			}
		}
		for _, k := range cfgKeys {
			if !contains(tableKeys, k) {
				add(pkey, fmt.Sprintf("has no partition key %q that the partition pattern produces (table keys %v)", k, tableKeys),
					fmt.Sprintf("remove %s from %s, or use a table partitioned by %v", k, pkey, cfgKeys))
			}
		}
		if len(errs) == 0 && strings.Join(tableKeys, "/") != strings.Join(cfgKeys, "/") {
			add(pkey, fmt.Sprintf("has partition keys in order %v but the pattern writes %v", tableKeys, cfgKeys),
				fmt.Sprintf("reorder %s to %s", pkey, strings.Join(tableKeys, "=…/")+"=…"))
		}
		for _, k := range t.PartitionKeys {
			if contains(cfgKeys, strings.ToLower(k.Name)) && k.Type != "string" && !strings.HasPrefix(k.Type, "varchar") &&
				!strings.HasPrefix(k.Type, "char") && k.Type != "int" && k.Type != "bigint" && k.Type != "smallint" && k.Type != "tinyint" {
				add(pkey, fmt.Sprintf("has partition key %s of type %s", k.Name, k.Type), "use a string or integer partition key")
			}
		}
		if len(t.Columns) > 0 {
			for _, k := range tableKeys {
				for _, c := range t.Columns {
					if strings.EqualFold(c.Name, k) {
						add(pkey, fmt.Sprintf("has %q both as column and partition key", k), "drop the column")
					}
				}
			}
		}
	}
	return errors.Join(errs...)
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
