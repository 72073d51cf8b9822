package hivetest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	hms "github.com/beltran/gohive/hive_metastore"
)

// implemented are the Thrift methods the handler serves.
var implemented = map[string]bool{
	"get_all_databases": true, "get_database": true, "create_database": true,
	"get_all_tables": true, "get_table": true, "get_table_req": true, "create_table": true, "drop_table": true,
	"add_partition": true, "add_partition_with_environment_context": true,
	"get_partition": true, "get_partitions": true, "get_partition_names": true,
	"alter_partition": true, "alter_partition_with_environment_context": true,
	"drop_partition": true,
}

// handler keeps the catalog in memory. The embedded interface is nil: the
// processor only routes the methods in implemented, which handler defines.
type handler struct {
	hms.ThriftHiveMetastore

	mu       sync.Mutex
	n        map[string]int
	hang     chan struct{}
	fail     string
	failNext int
	// recompute emulates Hive 4, which overwrites the fast statistics of a
	// partition whose directory exists already when it is added.
	recompute bool
	dbs       map[string]*hms.Database
	tables    map[string]*hms.Table
	parts     map[string]map[string]*hms.Partition // table key → partition name → partition
}

func newHandler() *handler {
	h := &handler{
		n:      map[string]int{},
		dbs:    map[string]*hms.Database{},
		tables: map[string]*hms.Table{},
		parts:  map[string]map[string]*hms.Partition{},
	}
	h.dbs["default"] = &hms.Database{Name: "default", Description: "Default Hive database", LocationUri: "file:/tmp/hivetest/warehouse", Parameters: map[string]string{}}
	return h
}

func (h *handler) setHang(on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if on && h.hang == nil {
		h.hang = make(chan struct{})
	}
	if !on && h.hang != nil {
		close(h.hang)
		h.hang = nil
	}
}

func (h *handler) release() { h.setHang(false) }

func (h *handler) setFail(msg string) {
	h.mu.Lock()
	h.fail = msg
	h.mu.Unlock()
}

func (h *handler) setFailNext(n int) {
	h.mu.Lock()
	h.failNext = n
	h.mu.Unlock()
}

func (h *handler) calls(method string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[method]
}

// enter counts the call and applies the hang and fail switches.
func (h *handler) enter(ctx context.Context, method string) error {
	h.mu.Lock()
	h.n[method]++
	hang, fail := h.hang, h.fail
	if h.failNext > 0 {
		h.failNext--
		fail = "hivetest: injected failure"
	}
	h.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-ctx.Done():
			// The connection was cut (Down/Close): answer nothing.
			return thrift.ErrAbandonRequest
		}
	}
	if fail != "" {
		return &hms.MetaException{Message: fail}
	}
	return nil
}

func tkey(db, table string) string { return strings.ToLower(db) + "." + strings.ToLower(table) }

// partName is Hive's partition name, k1=v1/k2=v2, with Hive's escaping of
// characters that are special in paths.
func partName(keys []*hms.FieldSchema, values []string) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = escape(k.Name) + "=" + escape(values[i])
	}
	return strings.Join(parts, "/")
}

func escape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r == 0x7f || strings.ContainsRune("\"#%'*/:=?\\{[]^", r) {
			fmt.Fprintf(&b, "%%%02X", r)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func (h *handler) GetAllDatabases(ctx context.Context) ([]string, error) {
	if err := h.enter(ctx, "get_all_databases"); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Sorted(maps.Keys(h.dbs)), nil
}

func (h *handler) GetDatabase(ctx context.Context, name string) (*hms.Database, error) {
	if err := h.enter(ctx, "get_database"); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	db, ok := h.dbs[strings.ToLower(name)]
	if !ok {
		return nil, &hms.NoSuchObjectException{Message: "database " + name + " not found"}
	}
	return db, nil
}

func (h *handler) CreateDatabase(ctx context.Context, db *hms.Database) error {
	if err := h.enter(ctx, "create_database"); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	name := strings.ToLower(db.Name)
	if _, ok := h.dbs[name]; ok {
		return &hms.AlreadyExistsException{Message: "Database " + name + " already exists"}
	}
	db.Name = name
	h.dbs[name] = db
	return nil
}

func (h *handler) GetAllTables(ctx context.Context, db string) ([]string, error) {
	if err := h.enter(ctx, "get_all_tables"); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, t := range h.tables {
		if t.DbName == strings.ToLower(db) {
			out = append(out, t.TableName)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (h *handler) GetTable(ctx context.Context, db, table string) (*hms.Table, error) {
	if err := h.enter(ctx, "get_table"); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.tables[tkey(db, table)]
	if !ok {
		return nil, &hms.NoSuchObjectException{Message: fmt.Sprintf("hive.%s.%s table not found", db, table)}
	}
	return t, nil
}

func (h *handler) GetTableReq(ctx context.Context, req *hms.GetTableRequest) (*hms.GetTableResult_, error) {
	if err := h.enter(ctx, "get_table_req"); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.tables[tkey(req.DbName, req.TblName)]
	if !ok {
		return nil, &hms.NoSuchObjectException{Message: fmt.Sprintf("hive.%s.%s table not found", req.DbName, req.TblName)}
	}
	return &hms.GetTableResult_{Table: t}, nil
}

func (h *handler) CreateTable(ctx context.Context, t *hms.Table) error {
	if err := h.enter(ctx, "create_table"); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	t.DbName, t.TableName = strings.ToLower(t.DbName), strings.ToLower(t.TableName)
	if _, ok := h.dbs[t.DbName]; !ok {
		return &hms.InvalidObjectException{Message: "database " + t.DbName + " does not exist"}
	}
	k := tkey(t.DbName, t.TableName)
	if _, ok := h.tables[k]; ok {
		return &hms.AlreadyExistsException{Message: "Table " + k + " already exists"}
	}
	if t.Sd == nil {
		return &hms.InvalidObjectException{Message: "table " + k + " has no storage descriptor"}
	}
	t.CreateTime = int32(time.Now().Unix())
	h.putTableLocked(t)
	return nil
}

func (h *handler) putTable(t *hms.Table) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.putTableLocked(t)
}

func (h *handler) putTableLocked(t *hms.Table) {
	k := tkey(t.DbName, t.TableName)
	h.tables[k] = t
	if h.parts[k] == nil {
		h.parts[k] = map[string]*hms.Partition{}
	}
}

func (h *handler) DropTable(ctx context.Context, db, table string, _ bool) error {
	if err := h.enter(ctx, "drop_table"); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	k := tkey(db, table)
	if _, ok := h.tables[k]; !ok {
		return &hms.NoSuchObjectException{Message: k + " table not found"}
	}
	delete(h.tables, k)
	delete(h.parts, k)
	return nil
}

func (h *handler) AddPartition(ctx context.Context, p *hms.Partition) (*hms.Partition, error) {
	return h.addPartition(ctx, "add_partition", p)
}

func (h *handler) AddPartitionWithEnvironmentContext(ctx context.Context, p *hms.Partition, _ *hms.EnvironmentContext) (*hms.Partition, error) {
	return h.addPartition(ctx, "add_partition_with_environment_context", p)
}

func (h *handler) addPartition(ctx context.Context, method string, p *hms.Partition) (*hms.Partition, error) {
	if err := h.enter(ctx, method); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	k := tkey(p.DbName, p.TableName)
	t, ok := h.tables[k]
	if !ok {
		return nil, &hms.InvalidObjectException{Message: "Unable to add partition because table or database do not exist"}
	}
	if len(p.Values) != len(t.PartitionKeys) {
		return nil, &hms.MetaException{Message: fmt.Sprintf("Invalid partition key & values; keys %d, values %d", len(t.PartitionKeys), len(p.Values))}
	}
	name := partName(t.PartitionKeys, p.Values)
	if _, ok := h.parts[k][name]; ok {
		return nil, &hms.AlreadyExistsException{Message: "Partition already exists: " + name}
	}
	p.DbName, p.TableName = t.DbName, t.TableName
	if p.CreateTime == 0 {
		p.CreateTime = int32(time.Now().Unix())
	}
	if h.recompute {
		if p.Parameters == nil {
			p.Parameters = map[string]string{}
		}
		p.Parameters["numFiles"], p.Parameters["totalSize"] = "0", "0"
	}
	if p.Sd != nil && p.Sd.Location == "" && t.Sd != nil {
		p.Sd.Location = strings.TrimSuffix(t.Sd.Location, "/") + "/" + name
	}
	h.parts[k][name] = p
	return p, nil
}

func (h *handler) GetPartition(ctx context.Context, db, table string, values []string) (*hms.Partition, error) {
	if err := h.enter(ctx, "get_partition"); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	k := tkey(db, table)
	t, ok := h.tables[k]
	if !ok || len(values) != len(t.PartitionKeys) {
		return nil, &hms.NoSuchObjectException{Message: "partition values=" + strings.Join(values, ",")}
	}
	p, ok := h.parts[k][partName(t.PartitionKeys, values)]
	if !ok {
		return nil, &hms.NoSuchObjectException{Message: "partition values=" + strings.Join(values, ",")}
	}
	return p, nil
}

func (h *handler) GetPartitions(ctx context.Context, db, table string, max int16) ([]*hms.Partition, error) {
	if err := h.enter(ctx, "get_partitions"); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	k := tkey(db, table)
	if _, ok := h.tables[k]; !ok {
		return nil, &hms.NoSuchObjectException{Message: k + " table not found"}
	}
	out := h.sortedLocked(k)
	if max >= 0 && len(out) > int(max) {
		out = out[:max]
	}
	return out, nil
}

func (h *handler) sortedLocked(k string) []*hms.Partition {
	names := slices.Sorted(maps.Keys(h.parts[k]))
	out := make([]*hms.Partition, len(names))
	for i, n := range names {
		out[i] = h.parts[k][n]
	}
	return out
}

func (h *handler) GetPartitionNames(ctx context.Context, db, table string, max int16) ([]string, error) {
	if err := h.enter(ctx, "get_partition_names"); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	k := tkey(db, table)
	if _, ok := h.tables[k]; !ok {
		return nil, &hms.NoSuchObjectException{Message: k + " table not found"}
	}
	out := slices.Sorted(maps.Keys(h.parts[k]))
	if max >= 0 && len(out) > int(max) {
		out = out[:max]
	}
	return out, nil
}

func (h *handler) AlterPartition(ctx context.Context, db, table string, p *hms.Partition) error {
	return h.alterPartition(ctx, "alter_partition", db, table, p)
}

func (h *handler) AlterPartitionWithEnvironmentContext(ctx context.Context, db, table string, p *hms.Partition, _ *hms.EnvironmentContext) error {
	return h.alterPartition(ctx, "alter_partition_with_environment_context", db, table, p)
}

func (h *handler) alterPartition(ctx context.Context, method, db, table string, p *hms.Partition) error {
	if err := h.enter(ctx, method); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	k := tkey(db, table)
	t, ok := h.tables[k]
	if !ok || len(p.Values) != len(t.PartitionKeys) {
		return &hms.InvalidOperationException{Message: "alter is not possible: no such table or bad partition values"}
	}
	name := partName(t.PartitionKeys, p.Values)
	old, ok := h.parts[k][name]
	if !ok {
		return &hms.InvalidOperationException{Message: "alter is not possible: partition " + name + " does not exist"}
	}
	p.DbName, p.TableName, p.CreateTime = t.DbName, t.TableName, old.CreateTime
	h.parts[k][name] = p
	return nil
}

func (h *handler) DropPartition(ctx context.Context, db, table string, values []string, _ bool) (bool, error) {
	if err := h.enter(ctx, "drop_partition"); err != nil {
		return false, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	k := tkey(db, table)
	t, ok := h.tables[k]
	if !ok || len(values) != len(t.PartitionKeys) {
		return false, &hms.NoSuchObjectException{Message: "partition values=" + strings.Join(values, ",")}
	}
	name := partName(t.PartitionKeys, values)
	if _, ok := h.parts[k][name]; !ok {
		return false, &hms.NoSuchObjectException{Message: "partition " + name + " not found"}
	}
	delete(h.parts[k], name)
	return true, nil
}

// partitions returns copies that the caller may keep while the server goes
// on changing its own.
func (h *handler) partitions(db, table string) []*hms.Partition {
	h.mu.Lock()
	defer h.mu.Unlock()
	ps := h.sortedLocked(tkey(db, table))
	out := make([]*hms.Partition, len(ps))
	for i, p := range ps {
		c := *p
		c.Values = slices.Clone(p.Values)
		c.Parameters = maps.Clone(p.Parameters)
		if p.Sd != nil {
			sd := *p.Sd
			c.Sd = &sd
		}
		out[i] = &c
	}
	return out
}

func (h *handler) editPartition(db, table string, values []string, edit func(*hms.Partition)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := tkey(db, table)
	t, ok := h.tables[k]
	if !ok || len(values) != len(t.PartitionKeys) {
		return
	}
	if p, ok := h.parts[k][partName(t.PartitionKeys, values)]; ok {
		if p.Parameters == nil {
			p.Parameters = map[string]string{}
		}
		edit(p)
	}
}
