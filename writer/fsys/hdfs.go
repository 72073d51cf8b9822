package fsys

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/user"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/colinmarc/hdfs/v2"
	krb "github.com/jcmturner/gokrb5/v8/client"
)

// HDFSOptions configures NewHDFS. Only Addresses and Root are required.
type HDFSOptions struct {
	// Addresses are the NameNode RPC addresses (host:port); with HA, all of
	// them, and the client fails over between them.
	Addresses []string
	// Root is the absolute HDFS directory that names are relative to.
	Root string
	// User is the simple-auth user; empty means $HADOOP_USER_NAME, then the
	// current OS user.
	User string
	// KerberosClient, with KerberosServicePrincipalName (e.g. "nn/_HOST"),
	// switches the NameNode connection to Kerberos. landfall's own tests run
	// with simple auth only.
	KerberosClient               *krb.Client
	KerberosServicePrincipalName string
	// DataTransferProtection is dfs.data.transfer.protection
	// ("authentication", "integrity", "privacy") for SASL to DataNodes.
	DataTransferProtection string
	// Replication and BlockSize of new files; zero means the NameNode's
	// defaults.
	Replication int
	BlockSize   int64
	// CompleteTimeout bounds how long Sync and Close wait for the NameNode
	// to accept a file as complete (it waits for the DataNodes to report
	// the last block). Default 2m.
	CompleteTimeout time.Duration
	// RecoverTimeout bounds Recover's wait for lease recovery. Default 5m.
	RecoverTimeout time.Duration
	// IOTimeout is the deadline of each write, read and complete on a
	// DataNode connection, so that the client itself fails a call to a
	// DataNode that stopped answering. Zero means none; WithDeadline sets
	// it to its own timeout.
	IOTimeout time.Duration
}

// HDFS is the HDFS backend, on github.com/colinmarc/hdfs/v2 with a patched
// block writer that sends each packet without extra copies or allocations
// (third_party/hdfs/README.md).
//
// Durability of Sync. The client's FileWriter.Flush only hands the buffered
// packets to the DataNode socket; it does not wait for the pipeline's
// acknowledgements, so it is weaker than Java's hflush and a DataNode that
// fails right after could lose bytes that Flush reported as written. Sync
// therefore finishes the file instead: it sends the last packet, waits until
// every DataNode in the pipeline has acknowledged every packet and finalized
// the block, and has the NameNode mark the file complete with its length.
// When Sync returns, the bytes are on every replica and the length is in the
// NameNode's edit log; with dfs.datanode.synconclose=true on the cluster (the
// e2e cluster sets it) the DataNodes have also fsynced the block, which is
// what Java's hsync gives. A Write after Sync reopens the file for append,
// so a file can be synced many times; Close after a Sync with nothing
// written since costs nothing.
//
// Recover revokes a dead writer's lease (ClientProtocol.recoverLease) and
// polls until the NameNode has recovered the last block and closed the file.
// Its length is then at least the length at the last successful Sync: bytes
// written after it may survive too, so callers that need an exact length
// keep it themselves.
type HDFS struct {
	client *hdfs.Client
	rpc    *namenodeRPC
	root   string
	opts   HDFSOptions

	mu        sync.Mutex // guards repl and blockSize
	repl      int
	blockSize int64

	ioTimeout atomic.Int64 // time.Duration; see HDFSOptions.IOTimeout
}

// NewHDFS connects to the NameNode and returns the backend rooted at
// opts.Root, creating the root directory if needed.
func NewHDFS(opts HDFSOptions) (*HDFS, error) {
	if len(opts.Addresses) == 0 {
		return nil, errors.New("fsys: hdfs: no NameNode address")
	}
	if !path.IsAbs(opts.Root) {
		return nil, fmt.Errorf("fsys: hdfs: root %q is not an absolute path", opts.Root)
	}
	opts.Root = path.Clean(opts.Root)
	if opts.User == "" {
		opts.User = os.Getenv("HADOOP_USER_NAME")
	}
	if opts.User == "" {
		u, err := user.Current()
		if err != nil {
			return nil, fmt.Errorf("fsys: hdfs: no user given and no current user: %w", err)
		}
		opts.User = u.Username
	}
	if opts.CompleteTimeout <= 0 {
		opts.CompleteTimeout = 2 * time.Minute
	}
	if opts.RecoverTimeout <= 0 {
		opts.RecoverTimeout = 5 * time.Minute
	}
	c, err := newHDFSClient(opts)
	if err != nil {
		return nil, err
	}
	rpc, err := newNamenodeRPC(c)
	if err != nil {
		c.Close()
		return nil, err
	}
	h := &HDFS{client: c, rpc: rpc, root: opts.Root, opts: opts}
	h.ioTimeout.Store(int64(opts.IOTimeout))
	if err := c.MkdirAll(h.root, 0o755); err != nil {
		c.Close()
		return nil, fmt.Errorf("fsys: hdfs: create root %s: %w", h.root, err)
	}
	return h, nil
}

func newHDFSClient(opts HDFSOptions) (*hdfs.Client, error) {
	c, err := hdfs.NewClient(hdfs.ClientOptions{
		Addresses:                    opts.Addresses,
		User:                         opts.User,
		KerberosClient:               opts.KerberosClient,
		KerberosServicePrincipleName: opts.KerberosServicePrincipalName,
		DataTransferProtection:       opts.DataTransferProtection,
	})
	if err != nil {
		return nil, fmt.Errorf("fsys: hdfs: connect to %s: %w", strings.Join(opts.Addresses, ","), err)
	}
	return c, nil
}

// Root is the absolute HDFS directory the names are relative to.
func (h *HDFS) Root() string { return h.root }

func (h *HDFS) setIOTimeout(d time.Duration) { h.ioTimeout.Store(int64(d)) }

// deadliner is a client file with native deadlines: FileWriter, FileReader.
type deadliner interface{ SetDeadline(time.Time) error }

// bound sets the I/O deadline of one call on a DataNode connection and
// returns what clears it again. Cleared, not left to expire: between calls
// the writer's heartbeats must keep flowing, or the DataNode drops an idle
// pipeline, and a packet's late acknowledgement would fail the next call.
// A deadline that passes mid-call fails that call and breaks the pipeline;
// the file is then lost to this writer, and Recover is the way out.
func (h *HDFS) bound(d deadliner) func() {
	t := time.Duration(h.ioTimeout.Load())
	if t <= 0 {
		return func() {}
	}
	_ = d.SetDeadline(time.Now().Add(t)) // errors only for a closed file: the call reports it
	return func() { _ = d.SetDeadline(time.Time{}) }
}

func (h *HDFS) path(name string) (string, error) {
	if strings.Contains(name, "\x00") {
		return "", fmt.Errorf("fsys: bad name %q", name)
	}
	return path.Join(h.root, path.Clean("/"+name)), nil
}

// defaults returns the replication and block size for new files.
func (h *HDFS) defaults() (int, int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.repl == 0 {
		h.repl, h.blockSize = h.opts.Replication, h.opts.BlockSize
		if h.repl == 0 || h.blockSize == 0 {
			d, err := h.client.ServerDefaults()
			if err != nil {
				h.repl = 0
				return 0, 0, fmt.Errorf("fsys: hdfs: read server defaults: %w", err)
			}
			if h.repl == 0 {
				h.repl = d.Replication
			}
			if h.blockSize == 0 {
				h.blockSize = d.BlockSize
			}
		}
	}
	return h.repl, h.blockSize, nil
}

func (h *HDFS) Create(name string) (File, error) {
	p, err := h.path(name)
	if err != nil {
		return nil, err
	}
	repl, bs, err := h.defaults()
	if err != nil {
		return nil, err
	}
	if err := h.client.MkdirAll(path.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("fsys: create %s: %w", name, err)
	}
	// CREATE without OVERWRITE: the NameNode refuses an existing name.
	w, err := h.client.CreateFile(p, repl, bs, 0o644)
	if err != nil {
		return nil, fmt.Errorf("fsys: create %s: %w", name, err)
	}
	return &hdfsFile{h: h, name: name, p: p, w: w}, nil
}

// hdfsFile is a file open for writing. w is nil between a Sync that
// completed the file and the next Write, which reopens it for append.
type hdfsFile struct {
	h    *HDFS
	name string
	p    string
	w    *hdfs.FileWriter
	// err is sticky: after a failed write the pipeline is broken (the client
	// does no pipeline recovery), so completing the file could publish a
	// length that was never acknowledged. Recover is the way out.
	err    error
	closed bool
}

func (f *hdfsFile) Write(b []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	if f.closed {
		return 0, fmt.Errorf("fsys: write %s: %w", f.name, fs.ErrClosed)
	}
	if f.w == nil {
		w, err := f.h.client.Append(f.p)
		if err != nil {
			f.err = fmt.Errorf("fsys: reopen %s for append: %w", f.name, err)
			return 0, f.err
		}
		f.w = w
	}
	unbound := f.h.bound(f.w)
	n, err := f.w.Write(b)
	unbound()
	if err != nil {
		f.err = fmt.Errorf("fsys: write %s: %w", f.name, err)
	}
	return n, f.err
}

// Sync completes the file; see HDFS for what that guarantees.
func (f *hdfsFile) Sync() error {
	if f.err != nil {
		return f.err
	}
	if f.closed {
		return fmt.Errorf("fsys: sync %s: %w", f.name, fs.ErrClosed)
	}
	if err := f.complete("sync"); err != nil {
		f.err = err
		return err
	}
	return nil
}

func (f *hdfsFile) Close() error {
	if f.closed {
		return f.err
	}
	f.closed = true
	if f.err != nil {
		return f.err
	}
	if err := f.complete("close"); err != nil {
		f.err = err
		return err
	}
	return nil
}

// complete finishes the open writer, if any: the last packet is
// acknowledged, the block finalized and the file marked complete. The
// NameNode answers "not yet" until the DataNodes have reported the last
// block; the complete call is then repeated, as the Java client does.
func (f *hdfsFile) complete(op string) error {
	if f.w == nil {
		return nil
	}
	deadline := time.Now().Add(f.h.opts.CompleteTimeout)
	wait := 50 * time.Millisecond
	// Close waits for every packet's acknowledgement and the block's
	// finalization on the DataNode connection, under the I/O deadline.
	f.h.bound(f.w)
	err := f.w.Close()
	for hdfs.IsErrReplicating(err) && time.Now().Before(deadline) {
		time.Sleep(wait)
		wait = min(2*wait, time.Second)
		err = f.w.Close()
	}
	if err != nil {
		return fmt.Errorf("fsys: %s %s: complete file: %w", op, f.name, err)
	}
	f.w = nil
	return nil
}

func (h *HDFS) Open(name string) (Reader, error) {
	p, err := h.path(name)
	if err != nil {
		return nil, err
	}
	r, err := h.client.Open(p)
	if err != nil {
		return nil, fmt.Errorf("fsys: open %s: %w", name, err)
	}
	st := r.Stat()
	if st.IsDir() {
		r.Close()
		return nil, fmt.Errorf("fsys: open %s: is a directory", name)
	}
	return &hdfsReader{FileReader: r, h: h, size: st.Size()}, nil
}

type hdfsReader struct {
	*hdfs.FileReader
	h    *HDFS
	size int64
}

func (r *hdfsReader) Read(b []byte) (int, error) {
	defer r.h.bound(r.FileReader)()
	return r.FileReader.Read(b)
}

func (r *hdfsReader) ReadAt(b []byte, off int64) (int, error) {
	defer r.h.bound(r.FileReader)()
	return r.FileReader.ReadAt(b, off)
}

func (r *hdfsReader) Size() int64 { return r.size }

func (h *HDFS) Rename(oldname, newname string) error {
	op, err := h.path(oldname)
	if err != nil {
		return err
	}
	np, err := h.path(newname)
	if err != nil {
		return err
	}
	if err := h.client.MkdirAll(path.Dir(np), 0o755); err != nil {
		return fmt.Errorf("fsys: rename %s to %s: create directory: %w", oldname, newname, err)
	}
	// The NameNode persists the rename in its edit log before answering.
	if err := h.rpc.rename2NoOverwrite(op, np); err != nil {
		return fmt.Errorf("fsys: rename %s to %s: %w", oldname, newname, err)
	}
	return nil
}

func (h *HDFS) Remove(name string) error {
	p, err := h.path(name)
	if err != nil {
		return err
	}
	if err := h.client.Remove(p); err != nil {
		return fmt.Errorf("fsys: remove %s: %w", name, err)
	}
	return nil
}

func (h *HDFS) Stat(name string) (fs.FileInfo, error) {
	p, err := h.path(name)
	if err != nil {
		return nil, err
	}
	st, err := h.client.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("fsys: stat %s: %w", name, err)
	}
	return st, nil
}

func (h *HDFS) ReadDir(dir string) ([]fs.FileInfo, error) {
	p, err := h.path(dir)
	if err != nil {
		return nil, err
	}
	ents, err := h.client.ReadDir(p)
	if err != nil {
		return nil, fmt.Errorf("fsys: list %s: %w", dir, err)
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	return ents, nil
}

func (h *HDFS) MkdirAll(dir string) error {
	p, err := h.path(dir)
	if err != nil {
		return err
	}
	if err := h.client.MkdirAll(p, 0o755); err != nil {
		return fmt.Errorf("fsys: mkdir %s: %w", dir, err)
	}
	return nil
}

// Recover revokes the lease of a file left open by a dead writer and waits
// until the NameNode has closed it. The NameNode recovers the last block
// with the DataNodes that hold it: the file ends at the length every replica
// has, which includes every byte of the last successful Sync. A DataNode
// that holds the only replica must be up for this to finish; Recover keeps
// polling until RecoverTimeout.
func (h *HDFS) Recover(name string) error {
	p, err := h.path(name)
	if err != nil {
		return err
	}
	st, err := h.client.Stat(p)
	if err != nil {
		return fmt.Errorf("fsys: recover %s: %w", name, err)
	}
	if st.IsDir() {
		return fmt.Errorf("fsys: recover %s: is a directory", name)
	}
	if closed, err := h.rpc.isFileClosed(p); err != nil {
		return fmt.Errorf("fsys: recover %s: %w", name, err)
	} else if closed {
		return nil
	}
	// The NameNode refuses a lease holder recovering its own lease, and
	// this process may hold it (a write that failed); recover under another
	// client name. The name needs no connection or lease of its own.
	recoverer := "landfall-recover-" + h.client.Name()
	deadline := time.Now().Add(h.opts.RecoverTimeout)
	wait := 100 * time.Millisecond
	for {
		closed, err := h.rpc.recoverLease(p, recoverer)
		switch remoteException(err) {
		case "":
		case excRecoveryInProgress, excAlreadyBeingCreated:
			// A recovery started earlier is still running; keep polling.
			err = nil
		}
		if err != nil {
			return fmt.Errorf("fsys: recover %s: recover lease: %w", name, err)
		}
		if !closed {
			closed, err = h.rpc.isFileClosed(p)
			if err != nil {
				return fmt.Errorf("fsys: recover %s: %w", name, err)
			}
		}
		if closed {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("fsys: recover %s: lease recovery did not close the file within %s (is the DataNode holding its last block up?)", name, h.opts.RecoverTimeout)
		}
		time.Sleep(wait)
		wait = min(2*wait, 2*time.Second)
	}
}

func (h *HDFS) Close() error {
	if err := h.client.Close(); err != nil {
		return fmt.Errorf("fsys: hdfs: close: %w", err)
	}
	return nil
}

// openHDFS serves fsys.Open for hdfs://[user@]host[:port][,host2[:port]]/path.
// The port defaults to 8020; the user to $HADOOP_USER_NAME, then the OS user.
func openHDFS(u *url.URL, o openOptions) (FS, error) {
	if u.Host == "" || u.Path == "" || u.Path[0] != '/' {
		return nil, fmt.Errorf("%w: %q: want hdfs://namenode:8020/absolute/path", ErrUnsupported, u.Redacted())
	}
	opts := HDFSOptions{Root: u.Path}
	for _, a := range strings.Split(u.Host, ",") {
		if _, _, err := net.SplitHostPort(a); err != nil {
			a = net.JoinHostPort(a, "8020")
		}
		opts.Addresses = append(opts.Addresses, a)
	}
	if u.User != nil {
		opts.User = u.User.Username()
	}
	for _, f := range o.hdfs {
		f(&opts)
	}
	return NewHDFS(opts)
}
