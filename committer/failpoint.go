package committer

import "errors"

// Named points of the checkpoint protocol where tests may crash the
// pipeline. A failpoint hook that returns an error makes the pipeline stop
// dead at that point, as kill -9 would: nothing after it runs, nothing is
// flushed or cleaned up.
const (
	FPCheckpointStart  = "checkpoint-start"   // before rolling files
	FPBeforeSave       = "before-state-write" // files rolled and synced, state not written
	FPAfterSave        = "after-state-write"  // state durable, nothing renamed
	FPBeforeClose      = "before-close"       // during async close of a rolled file
	FPBeforeRename     = "before-rename"      // file closed, not renamed
	FPAfterRename      = "after-rename"       // one file renamed (others may not be)
	FPBeforeCommitStep = "before-commit-step" // a partition commit step is about to run
	FPRecoveryFinalize = "recovery-finalize"  // recovery renamed one pending file
	FPRecoverySweep    = "recovery-sweep"     // recovery is about to delete orphans

	FPIndexBeforeInflight = "index-before-inflight" // files rolled, the index entry not written
	FPIndexAfterInflight  = "index-after-inflight"  // the entry inflight, the state not written
	FPIndexBeforePublish  = "index-before-publish"  // the entry's files renamed, the entry not published
	FPRecoveryIndex       = "recovery-index"        // recovery published one promised entry

	FPMergeWrite         = "merge-write"          // a merge is about to be written (hidden)
	FPMergeBeforePublish = "merge-before-publish" // the merge promised by a checkpoint, not published
	FPMergeBeforeRetire  = "merge-before-retire"  // the merged file published, the sources still in the partition
	FPMergeDone          = "merge-done"           // a partition's merges are done, the mark that says so not yet durable
	FPRecoveryMerge      = "recovery-merge"       // recovery finished one promised merge
)

// ErrCrash is what tests' failpoint hooks return; Run passes it up as is.
var ErrCrash = errors.New("committer: crashed at failpoint")
