// Package compactor merges the small committed files of a Hive partition
// into files of about a block, without decoding them: ORC stripes and lzop
// blocks are copied byte for byte under a new tail or header, text is
// concatenated. Plan decides which files go together, the executors
// (MergeORC, MergeLZO, MergeText) only copy, and the steps (Write, Publish,
// Retire, Delete) put the result in place; the committer drives them.
//
// # Visibility
//
// HDFS has no multi-file rename, so which reader sees what is decided by the
// order of the steps and by when they run. A partition is merged after it is
// complete and before its commit (metastore partition, _SUCCESS, notify);
// the pipeline calls, for each group of Plan:
//
//  1. Write: the merged file goes to <partition>/.merge-<name> (and its
//     sidecars beside it), synced and closed. Hidden: Hive, Spark and
//     Trino skip names starting with ".", the index doesn't list it.
//  2. the owner records the merge's intent in its checkpointed state.
//  3. Publish: sidecars, then the data file, renamed to <partition>/<name>.
//  4. Retire: each source renamed to .landfall/<logid>/retired/<its path>.
//  5. the owner publishes one index entry: remove the sources, add the
//     merged file, data change off; then records the outcome.
//  6. the commit proceeds: metastore, _SUCCESS.
//  7. after index.file_retention, Delete removes the retired sources.
//
// What each reader sees:
//
//   - The metastore (Hive): nothing of the partition until step 6, and then
//     only merged files and sources that had nothing to merge with.
//   - A directory lister after _SUCCESS: _SUCCESS is written at step 6,
//     after every Retire, so it sees each record once. Between steps 3 and
//     4 the partition directory holds a merged file and its sources
//     together; that is why the steps must finish before the commit, and
//     why recovery that finds a merge between them finishes it (Publish
//     and Retire again are no-ops where they already happened) before it
//     commits. A lister that ignores _SUCCESS and reads an incomplete
//     partition can see duplicates in that window, as it can see a
//     partition missing late files: it was promised nothing.
//   - An incremental reader of the index: it learned the sources from
//     earlier entries and reads them by name. Until step 5 the index
//     still names them; after step 4 they are no longer in the partition
//     but at RetiredName, a name derived from the old one only, so a
//     reader that finds a named file missing looks there. The entry of
//     step 5 has data change off, so a follower skips it and never reads
//     the merged file's records a second time, and a reader starting
//     after it (from a snapshot) sees the merged file and not the sources.
//     Retired files stay until step 7, after the retention, when no
//     reader may still be handed their names.
//
// A partition already committed (late data appended after _SUCCESS) is not
// merged by these steps: with a visible partition, the window between 3
// and 4 would be seen. Late files stay as they are.
//
// Crash safety and fencing are the caller's: every step checks nothing but
// is idempotent (Write redoes a hidden file, Publish and Retire skip renames
// already done, Abort and Delete ignore names already gone), so recovery
// replays the recorded step, and a zombie that the caller stops before each
// step changes nothing.
package compactor
