package committer_test

import (
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/writer/fsys"
)

// deniedFS refuses every new file, as HDFS refuses a user without write
// permission on the table directory.
type deniedFS struct{ fsys.FS }

func (d deniedFS) Create(name string) (fsys.File, error) {
	return nil, &fs.PathError{Op: "create", Path: name, Err: fs.ErrPermission}
}

// TestWarehousePermissionDeniedFailsTheStart: a warehouse that refuses
// landfall's user fails the start at once, naming warehouse.uri and the
// fix, instead of being retried like a DataNode that is restarting.
func TestWarehousePermissionDeniedFailsTheStart(t *testing.T) {
	e := newEnv(t, 1)
	cfg := e.config(nil)
	in := e.start(cfg, opts{wrapFS: func(f fsys.FS) fsys.FS { return deniedFS{f} }})
	select {
	case err := <-in.done:
		in.cancel()
		in.store.Abandon(true)
		if err == nil || !strings.Contains(err.Error(), "warehouse.uri: ") || !strings.Contains(err.Error(), "permission denied") || !strings.Contains(err.Error(), "write permission on "+cfg.Warehouse.URI) {
			t.Fatalf("start failed with %v; want warehouse.uri: … permission denied; give … write permission", err)
		}
	case <-time.After(10 * time.Second):
		in.cancel()
		<-in.done
		t.Fatal("a start the warehouse refuses still ran after 10s")
	}
}
