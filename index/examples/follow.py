#!/usr/bin/env python3
"""Follow a landfall table's file index and read every new file with pyarrow.

    follow.py TABLE_URI LOGID [--from earliest|latest|CURSOR] [--follow]
              [--poll SECONDS] [--cursor-file FILE] [--records]

TABLE_URI is the table directory, as in landfall's warehouse.uri:
file:///data/warehouse/ods.db/clicks or hdfs://namenode:8020/warehouse/...
(pyarrow.fs opens both). The on-disk format is index/FORMAT.md.

For every entry after the cursor, the script reads each file an `add` action
with data_change true names (text: JSON lines, .zst compressed or not; ORC;
lzo is skipped with a message: pyarrow has no lzop reader), checks that it
holds as many records as the index says, and prints one summary line per
file to stderr (and, with --records, every record as a JSON line to
stdout). Actions with data_change false are a merge's rewrite of records
already read: skipped. With --cursor-file it saves the cursor after each
entry and resumes from it: each record is handed exactly once across
restarts.
"""

import argparse
import json
import os
import sys
import time

import pyarrow as pa
import pyarrow.fs
import pyarrow.json
import pyarrow.orc

FORMAT_VERSION = 1
MAX_LINE = 4 << 20
EXPIRY_CHECK_EVERY = 30


class IndexError_(Exception):
    pass


class Index:
    def __init__(self, uri, logid):
        self.fs, root = pyarrow.fs.FileSystem.from_uri(uri)
        self.root = root.rstrip("/")
        self.logid = logid
        self.dir = f"{self.root}/.landfall/{logid}/index"

    # --- files -------------------------------------------------------------

    def _read(self, path):
        """The bytes of a file, or None when it does not exist."""
        try:
            with self.fs.open_input_stream(path, compression=None) as f:
                return f.read()
        except FileNotFoundError:
            return None
        except OSError as e:  # pyarrow reports some backends' misses this way
            if "not found" in str(e).lower() or "no such file" in str(e).lower():
                return None
            raise

    def _exists(self, path):
        return self.fs.get_file_info(path).type != pyarrow.fs.FileType.NotFound

    def entry_path(self, n):
        return f"{self.dir}/{n:020d}.jsonl"

    def snapshot_path(self, n):
        return f"{self.dir}/snapshot-{n:020d}.jsonl"

    # --- decoding ----------------------------------------------------------

    def decode(self, data, kind, n):
        """Header and actions of an entry or snapshot file (FORMAT.md)."""
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        if not lines:
            raise IndexError_(f"{kind} {n}: empty")
        if any(len(line) > MAX_LINE for line in lines):
            raise IndexError_(f"{kind} {n}: a line is longer than {MAX_LINE} bytes")
        header = json.loads(lines[0]).get(kind)
        if not isinstance(header, dict):
            raise IndexError_(f"{kind} {n}: first line is not a {kind} header")
        if header.get("format", 0) > FORMAT_VERSION:
            raise IndexError_(f"{kind} {n} is format {header['format']}, this reader knows {FORMAT_VERSION}: upgrade it")
        if header.get("n") != n or header.get("logid") != self.logid:
            raise IndexError_(f"{kind} {n}: header says {header.get('n')} of {header.get('logid')!r}")
        if header.get("actions") != len(lines) - 1:
            raise IndexError_(f"{kind} {n}: truncated, {len(lines) - 1} of {header.get('actions')} actions")
        actions, unknown = [], 0
        for line in lines[1:]:
            a = json.loads(line)
            known = [k for k in ("add", "remove", "partition_complete") if k in a]
            if not known:
                unknown += 1  # a newer writer's action kind: skip it
                continue
            actions.append((known[0], a[known[0]]))
        if unknown:
            print(f"warning: {kind} {n}: skipped {unknown} actions of unknown kinds", file=sys.stderr)
        return header, actions

    def pointer(self, thorough=True):
        """_last_snapshot, following FORMAT.md's replace protocol; None if absent."""
        name = f"{self.dir}/_last_snapshot"
        for attempt in range(2 if thorough else 1):
            data = self._read(name)
            if data is not None:
                return json.loads(data)
            if not thorough:
                return None
            data = self._read(name + ".inflight")
            if data is not None:
                try:
                    return json.loads(data)
                except ValueError:
                    return None  # the first pointer, still being written
        return None

    # --- reading -----------------------------------------------------------

    def start(self, cursor):
        """(next entry number, snapshot actions or None) for a cursor string."""
        p = self.pointer() or {"snapshot": 0, "oldest_entry": 1}
        if cursor == "earliest":
            s = p["snapshot"]
            if s == 0:
                return p["oldest_entry"], None
            data = self._read(self.snapshot_path(s))
            if data is None:  # replaced and expired meanwhile: read the pointer again
                return self.start(cursor)
            _, actions = self.decode(data, "snapshot", s)
            return s + 1, (s, actions)
        if cursor == "latest":
            lo, step = max(p["snapshot"], p["oldest_entry"] - 1), 1
            while self._exists(self.entry_path(lo + step)):
                lo += step
                step *= 2
            hi = lo + step
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if self._exists(self.entry_path(mid)):
                    lo = mid
                else:
                    hi = mid
            return lo + 1, None
        n = int(cursor) + 1
        self.check_expired(n, True)
        return n, None

    def check_expired(self, n, thorough):
        p = self.pointer(thorough)
        if p is not None and p["oldest_entry"] > n:
            raise IndexError_(f"cursor expired: entry {n} is next, the oldest kept is {p['oldest_entry']}; restart from earliest")

    def follow(self, cursor, poll, handle):
        """Call handle(n, actions, is_snapshot) for every entry after cursor."""
        n, snap = self.start(cursor)
        if snap is not None:
            handle(snap[0], snap[1], True)
        misses = 0
        while True:
            data = self._read(self.entry_path(n))
            if data is not None:
                _, actions = self.decode(data, "entry", n)
                handle(n, actions, False)
                n += 1
                misses = 0
                continue
            if misses % EXPIRY_CHECK_EVERY == 0:
                self.check_expired(n, False)
            misses += 1
            if poll <= 0:
                return
            time.sleep(poll)

    # --- data files ----------------------------------------------------------

    def read_file(self, f):
        """The records of a data file as a pyarrow Table, or None if skipped."""
        path = f"{self.root}/{f['path']}"
        fmt = f.get("format", "")
        if fmt == "orc" or path.endswith(".orc"):
            with self.fs.open_input_file(path) as src:
                return pyarrow.orc.ORCFile(src).read()
        if fmt == "lzo" or path.endswith(".lzo"):
            print(f"skip {f['path']}: lzop files need a Hadoop LZO reader, pyarrow has none", file=sys.stderr)
            return None
        # compression=None: pyarrow would otherwise guess from the name, and
        # the codec is decided here, in one place.
        stream = self.fs.open_input_stream(path, compression=None)
        if path.endswith(".zst"):
            stream = pa.CompressedInputStream(stream, "zstd")
        with stream:
            data = stream.read()
        if not data:
            return pa.table({})
        return pyarrow.json.read_json(pa.BufferReader(data))


def save_cursor(path, cursor):
    tmp = path + ".tmp"
    with open(tmp, "w") as out:
        out.write(cursor + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("table_uri")
    ap.add_argument("logid")
    ap.add_argument("--from", dest="cursor", default=None, help="earliest, latest or a saved cursor (default: earliest, or --cursor-file's)")
    ap.add_argument("--follow", action="store_true", help="keep waiting for new entries")
    ap.add_argument("--poll", type=float, default=1.0, help="seconds between probes while waiting")
    ap.add_argument("--cursor-file", help="resume from and save the cursor in this file")
    ap.add_argument("--records", action="store_true", help="print every record as a JSON line")
    args = ap.parse_args()

    cursor = args.cursor
    if cursor is None and args.cursor_file and os.path.exists(args.cursor_file):
        with open(args.cursor_file) as f:
            cursor = f.read().strip()
    cursor = cursor or "earliest"
    idx = Index(args.table_uri, args.logid)

    def handle(n, actions, is_snapshot):
        for kind, a in actions:
            if kind == "partition_complete":
                print(f"entry {n}: partition {a['partition']} complete ({a['files']} files, key {a['commit_key']})", file=sys.stderr)
                continue
            if kind != "add" or not a.get("data_change"):
                continue  # a remove, or a merge's rewrite of records already read
            table = idx.read_file(a)
            if table is None:
                continue
            if table.num_rows != a["rows"]:
                raise IndexError_(f"{a['path']}: {table.num_rows} records, the index says {a['rows']}")
            what = "snapshot" if is_snapshot else "entry"
            print(f"{what} {n}: read {a['path']} ({table.num_rows} records)", file=sys.stderr)
            if args.records:
                for row in table.to_pylist():
                    print(json.dumps(row, sort_keys=True, default=str))
        sys.stdout.flush()
        if args.cursor_file:
            save_cursor(args.cursor_file, str(n))

    try:
        idx.follow(cursor, args.poll if args.follow else 0, handle)
    except IndexError_ as e:
        print(f"follow.py: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
