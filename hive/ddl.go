package hive

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	hms "github.com/beltran/gohive/hive_metastore"
)

// TableSpec describes a table to create, for DDL and Client.CreateTable.
type TableSpec struct {
	Database      string
	Table         string
	Columns       []Column
	PartitionKeys []Column
	// Location is the table root, e.g. hdfs://nn/warehouse/logs/clicks.
	Location string
	// Format is "orc" (ORC with zstd), "lzo" (lzop text) or "text".
	Format string
	// LzoAsText reads an lzo table with plain TextInputFormat, which
	// decompresses .lzo files with whatever LzopCodec the reader has in
	// io.compression.codecs (Spark and Trino ship aircompressor's) and
	// never splits them, instead of hadoop-lzo's DeprecatedLzoTextInputFormat
	// (GPL, not on Maven Central, so missing from most Spark installs),
	// which splits at the .lzo.index. Such a table must hold no .lzo.index
	// (format.lzo_input_format: text): TextInputFormat reads it as rows.
	LzoAsText bool
	Comment   string
	// SerDe optionally replaces LazySimpleSerDe for text and lzo tables,
	// e.g. org.apache.hive.hcatalog.data.JsonSerDe for JSON records, with
	// its SERDEPROPERTIES. ORC tables always use OrcSerde.
	SerDe       string
	SerDeParams map[string]string
}

func (s TableSpec) validate() error {
	var errs []error
	if s.Database == "" || s.Table == "" {
		errs = append(errs, errors.New("database and table are required"))
	}
	if len(s.Columns) == 0 {
		errs = append(errs, errors.New("at least one column is required"))
	}
	if s.Location == "" {
		errs = append(errs, errors.New("location is required: landfall writes external tables"))
	}
	for _, c := range append(append([]Column(nil), s.Columns...), s.PartitionKeys...) {
		if c.Name == "" || c.Type == "" {
			errs = append(errs, fmt.Errorf("column %q: name and type are required", c.Name))
		}
	}
	switch s.Format {
	case FormatORC:
		if s.SerDe != "" && s.SerDe != OrcSerDe {
			errs = append(errs, fmt.Errorf("serde %q: ORC tables read with %s", s.SerDe, OrcSerDe))
		}
	case FormatLZO, FormatText:
	default:
		errs = append(errs, fmt.Errorf("format %q: want orc, lzo or text", s.Format))
	}
	if err := errors.Join(errs...); err != nil {
		return Permanent(fmt.Errorf("hive: table spec %s.%s: %w", s.Database, s.Table, err))
	}
	return nil
}

// DDL returns the CREATE EXTERNAL TABLE statement for spec, for an operator
// to run in Hive (landfall hive ddl). The table is external so that dropping
// it never deletes landed data, and ORC tables ask for zstd, which is what
// landfall writes.
func DDL(spec TableSpec) (string, error) {
	if err := spec.validate(); err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE EXTERNAL TABLE IF NOT EXISTS %s.%s (\n", ident(spec.Database), ident(spec.Table))
	writeCols(&b, spec.Columns)
	b.WriteString(")\n")
	if spec.Comment != "" {
		fmt.Fprintf(&b, "COMMENT %s\n", quoteString(spec.Comment))
	}
	if len(spec.PartitionKeys) > 0 {
		b.WriteString("PARTITIONED BY (\n")
		writeCols(&b, spec.PartitionKeys)
		b.WriteString(")\n")
	}
	if spec.SerDe != "" && spec.Format != FormatORC {
		fmt.Fprintf(&b, "ROW FORMAT SERDE %s\n", quoteString(spec.SerDe))
		if len(spec.SerDeParams) > 0 {
			b.WriteString("WITH SERDEPROPERTIES (")
			writeProps(&b, spec.SerDeParams)
			b.WriteString(")\n")
		}
	}
	switch spec.Format {
	case FormatORC:
		b.WriteString("STORED AS ORC\n")
	case FormatLZO:
		fmt.Fprintf(&b, "STORED AS INPUTFORMAT '%s'\n  OUTPUTFORMAT '%s'\n", spec.lzoInputFormat(), TextOutputFormat)
	case FormatText:
		b.WriteString("STORED AS TEXTFILE\n")
	}
	fmt.Fprintf(&b, "LOCATION %s", quoteString(spec.Location))
	if props := tableProps(spec.Format); len(props) > 0 {
		b.WriteString("\nTBLPROPERTIES (")
		writeProps(&b, props)
		b.WriteString(")")
	}
	b.WriteString(";\n")
	return b.String(), nil
}

func (s TableSpec) lzoInputFormat() string {
	if s.LzoAsText {
		return TextInputFormat
	}
	return LzoInputFormat
}

func writeProps(b *strings.Builder, props map[string]string) {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(b, "%s=%s", quoteDouble(k), quoteDouble(props[k]))
	}
}

func tableProps(format string) map[string]string {
	if format == FormatORC {
		return map[string]string{"orc.compress": "ZSTD"}
	}
	return nil
}

func writeCols(b *strings.Builder, cols []Column) {
	for i, c := range cols {
		fmt.Fprintf(b, "  %s %s", ident(c.Name), c.Type)
		if c.Comment != "" {
			fmt.Fprintf(b, " COMMENT %s", quoteString(c.Comment))
		}
		if i < len(cols)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
}

// ident quotes every identifier with backticks so that reserved words
// ("date", "timestamp", "user") are valid column names.
func ident(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

func quoteString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`)
	return "'" + r.Replace(s) + "'"
}

func quoteDouble(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}

// HiveTable is the metastore object equivalent to DDL(spec): what Hive
// would store after running the statement.
func (s TableSpec) HiveTable() (*hms.Table, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	sd := &hms.StorageDescriptor{
		Location:   s.Location,
		NumBuckets: -1,
		Parameters: map[string]string{},
		SerdeInfo:  &hms.SerDeInfo{Parameters: map[string]string{"serialization.format": "1"}},
	}
	switch s.Format {
	case FormatORC:
		sd.InputFormat, sd.OutputFormat, sd.SerdeInfo.SerializationLib = OrcInputFormat, OrcOutputFormat, OrcSerDe
	case FormatLZO:
		sd.InputFormat, sd.OutputFormat, sd.SerdeInfo.SerializationLib = s.lzoInputFormat(), TextOutputFormat, LazySimpleSerDe
	case FormatText:
		sd.InputFormat, sd.OutputFormat, sd.SerdeInfo.SerializationLib = TextInputFormat, TextOutputFormat, LazySimpleSerDe
	}
	if s.SerDe != "" && s.Format != FormatORC {
		sd.SerdeInfo.SerializationLib = s.SerDe
		for k, v := range s.SerDeParams {
			sd.SerdeInfo.Parameters[k] = v
		}
	}
	for _, c := range s.Columns {
		sd.Cols = append(sd.Cols, &hms.FieldSchema{Name: strings.ToLower(c.Name), Type: c.Type, Comment: c.Comment})
	}
	params := map[string]string{"EXTERNAL": "TRUE"}
	for k, v := range tableProps(s.Format) {
		params[k] = v
	}
	if s.Comment != "" {
		params["comment"] = s.Comment
	}
	t := &hms.Table{
		DbName:     s.Database,
		TableName:  s.Table,
		TableType:  "EXTERNAL_TABLE",
		Sd:         sd,
		Parameters: params,
	}
	for _, c := range s.PartitionKeys {
		t.PartitionKeys = append(t.PartitionKeys, &hms.FieldSchema{Name: strings.ToLower(c.Name), Type: c.Type, Comment: c.Comment})
	}
	return t, nil
}
