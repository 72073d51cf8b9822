package committer

import (
	"context"
	"fmt"
	"time"

	"github.com/landfall/landfall/writer/fsys"
)

// fenced is the warehouse as the pipeline sees it: every call that changes
// it (create, rename, remove, mkdir, lease recovery) first passes the
// owner's fence, so a process that lost the logid — frozen in a GC or VM
// pause, cut off from etcd — changes nothing once it resumes. Reads pass
// through unguarded. Writes into a file already created are not guarded:
// they land in the writer's own staging file, which nothing publishes
// without a checkpoint the fence's owner wrote.
type fenced struct {
	fsys.FS
	fence func(context.Context) error
}

// fenceTimeout bounds one ownership confirmation with etcd.
const fenceTimeout = 5 * time.Second

func (f fenced) check(op, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), fenceTimeout)
	defer cancel()
	if err := f.fence(ctx); err != nil {
		return fmt.Errorf("%s %s: %w", op, name, err)
	}
	return nil
}

func (f fenced) Create(name string) (fsys.File, error) {
	if err := f.check("create", name); err != nil {
		return nil, err
	}
	return f.FS.Create(name)
}

func (f fenced) Rename(from, to string) error {
	if err := f.check("rename", from); err != nil {
		return err
	}
	return f.FS.Rename(from, to)
}

func (f fenced) Remove(name string) error {
	if err := f.check("remove", name); err != nil {
		return err
	}
	return f.FS.Remove(name)
}

func (f fenced) MkdirAll(dir string) error {
	if err := f.check("mkdir", dir); err != nil {
		return err
	}
	return f.FS.MkdirAll(dir)
}

func (f fenced) Recover(name string) error {
	if err := f.check("recover", name); err != nil {
		return err
	}
	return f.FS.Recover(name)
}
