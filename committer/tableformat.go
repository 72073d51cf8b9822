package committer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"time"

	"github.com/landfall/landfall/state"
)

// ErrFormatMismatch means the table directory already holds files that
// landfall wrote in another format: a start with this config would mix
// formats in one table, which no reader of the table can read. It is a
// set-up error; nothing has been written when it is returned.
var ErrFormatMismatch = errors.New("committer: table holds another format")

// formatMarker is written once per logid, at
// <table>/.landfall/<logid>/format, before the logid's first file. It
// lives with the data rather than in etcd because the question it answers
// is about the files: it survives a lost or reset etcd, a new
// etcd.prefix, and another logid (or another landfall cluster) pointed at
// the same directory, all of which the etcd state would not see.
type formatMarker struct {
	Name        string    `json:"name"`
	Compression string    `json:"compression"`
	Version     string    `json:"landfall_version"`
	At          time.Time `json:"written_at"`
}

func markerPath(logid string) string { return path.Join(".landfall", logid, "format") }

// checkTableFormat fails with ErrFormatMismatch when any logid's marker
// under the table names another format than format.name, and writes this
// logid's marker when it has none. Compression may differ: Hive reads
// text, text+zstd (by extension) and every ORC codec side by side.
func (p *Pipeline) checkTableFormat() error {
	ents, err := p.fs.ReadDir(".landfall")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("check table format: list .landfall: %w", err)
	}
	own := false
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		m, err := p.readMarker(markerPath(e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue // a logid that never wrote, or one from before markers
		}
		if err != nil {
			return fmt.Errorf("check table format: %w", err)
		}
		if m.Name != p.cfg.Format.Name {
			return fmt.Errorf("%w: format.name is %q, but %s already holds %q files written by landfall (logid %s, since %s; see %s): write %q, or point warehouse.uri at another directory",
				ErrFormatMismatch, p.cfg.Format.Name, p.cfg.Warehouse.URI, m.Name, e.Name(), m.At.Format(time.RFC3339), markerPath(e.Name()), m.Name)
		}
		own = own || e.Name() == p.cfg.LogID
	}
	if own {
		return nil
	}
	return p.writeMarker()
}

// formatCheckPatience is how long a start waits for the warehouse to
// answer the format check: reading a marker needs a DataNode, and one
// restarting must not end the process as if the configuration were wrong.
const formatCheckPatience = 2 * time.Minute

// checkTableFormatPatiently is checkTableFormat retried with backoff while
// the warehouse fails (not while the formats differ, nor when the
// warehouse refuses landfall's user: those are final, and waiting would
// only hide a configuration to fix).
func (p *Pipeline) checkTableFormatPatiently(ctx context.Context) error {
	deadline := time.Now().Add(formatCheckPatience)
	for wait := time.Second; ; wait = min(2*wait, 15*time.Second) {
		err := p.checkTableFormat()
		if errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("warehouse.uri: %w; give landfall's user (with kerberos, kerberos.principal as the cluster maps it) write permission on %s", err, p.cfg.Warehouse.URI)
		}
		if err == nil || errors.Is(err, ErrFormatMismatch) || errors.Is(err, state.ErrNotOwner) || time.Now().Add(wait).After(deadline) {
			return err
		}
		p.log.Warn("checking the table's format failed; retrying", "err", err, "after", wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

func (p *Pipeline) readMarker(name string) (*formatMarker, error) {
	r, err := p.fs.Open(name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	var m formatMarker
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return &m, nil
}

// writeMarker publishes the marker as data files are: written whole under
// a temporary name, synced, renamed (a rename never replaces, so of two
// racing writers one wins and the other's marker is checked next start).
func (p *Pipeline) writeMarker() error {
	name := markerPath(p.cfg.LogID)
	b, err := json.Marshal(formatMarker{Name: p.cfg.Format.Name, Compression: p.cfg.Format.Compression, Version: Version, At: p.now().UTC()})
	if err != nil {
		return err
	}
	if err := p.fs.MkdirAll(path.Dir(name)); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	tmp := name + ".tmp-" + p.token
	f, err := p.fs.Create(tmp)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	_, werr := f.Write(b)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = p.fs.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := p.fs.Rename(tmp, name); err != nil {
		_ = p.fs.Remove(tmp)
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
