package committer_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/state"
)

// TestPausedRecoveryDoesNotSweepTheSuccessor: a process pauses in its
// recovery just before the orphan sweep (a GC or VM pause, etcd out of
// reach during an HDFS lease recovery) and loses its lease; a new owner
// takes over and writes a checkpoint whose files wait for their rename.
// When the old process resumes, its sweep must leave the new owner's files
// alone and it must change nothing; the new owner then lands every record
// exactly once.
func TestPausedRecoveryDoesNotSweepTheSuccessor(t *testing.T) {
	e := newEnv(t, 2)
	cfg := e.config(nil)
	base := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	et := e.produce(2000, base, time.Second)

	resumeOld := make(chan struct{})
	paused := make(chan struct{})
	var pauseOnce sync.Once
	old := e.start(cfg, opts{
		store: func(s *state.Store) any { return deaf{s} },
		failpoint: func(name string) error {
			if name == committer.FPRecoverySweep {
				pauseOnce.Do(func() { close(paused) })
				<-resumeOld
			}
			return nil
		},
	})
	<-paused
	old.store.Abandon(true) // its lease expires while it is frozen

	releaseRenames := make(chan struct{})
	var renamesOnce sync.Once
	owner := e.start(cfg, opts{failpoint: func(name string) error {
		if name == committer.FPBeforeRename {
			<-releaseRenames
		}
		return nil
	}})
	defer renamesOnce.Do(func() { close(releaseRenames) })
	waitFor(t, 20*time.Second, "the new owner's checkpoint with files awaiting rename", func() bool {
		cp := e.checkpoint()
		return cp != nil && len(cp.Pending) > 0
	})

	close(resumeOld)
	select {
	case err := <-old.done:
		if !errors.Is(err, state.ErrNotOwner) {
			t.Fatalf("the old process ended with %v, want state.ErrNotOwner", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the old process kept running after it lost the logid")
	}
	for _, pf := range e.checkpoint().Pending {
		if _, err := owner.fs.Stat(pf.Staging); err != nil {
			t.Fatalf("the new owner's pending file is gone after the old process resumed: %v", err)
		}
	}

	renamesOnce.Do(func() { close(releaseRenames) })
	e.produce(1000, et, time.Second)
	e.waitConsumed(30 * time.Second)
	owner.stop(t)
	e.checkExactlyOnce(readTable(t, e.dir))
}
