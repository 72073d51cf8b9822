package committer_test

import (
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/cmd/landfall/loggen"
	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/committer/committest"
	"github.com/landfall/landfall/writer/fsys"
	"github.com/landfall/landfall/writer/orc/reader"
)

// TestDuplicateEventTimeKey: a record may hold its event-time key more than
// once, or, for ORC's case-insensitive columns, in another case. It must
// land in the hour of the value its table holds for that key: the last
// member matching the way the format maps keys — exactly for text (the
// record as it is), ASCII case-insensitively for ORC (its ts column).
// Partitioning by another member puts the record in an hour its own ts
// contradicts.
func TestDuplicateEventTimeKey(t *testing.T) {
	h10 := time.Date(2025, 11, 21, 10, 5, 0, 0, time.UTC).UnixMilli()
	h11 := time.Date(2025, 11, 21, 11, 5, 0, 0, time.UTC).UnixMilli()
	const dir10, dir11 = "log_date=20251121/log_hour=10", "log_date=20251121/log_hour=11"
	cases := []struct {
		id   string
		rec  string
		text string // the partition in a text table
		orc  string // and in an ORC table
		why  string
	}{
		{"1", `{"ts":%[1]d,"id":"1","msg":"a","ts":%[2]d}`, dir11, dir11, "the same key twice: the last"},
		{"2", `{"ts":%[1]d,"id":"2","TS":%[2]d}`, dir10, dir11, "another case: a different key for text, the same column for ORC"},
		{"3", `{"Ts":%[1]d,"id":"3","ts":%[2]d}`, dir11, dir11, "another case first"},
		{"4", `{"ts":%[1]d,"id":"4","t\u0073":%[2]d}`, dir11, dir11, "an escaped key is the same key"},
		{"5", `{"ts":%[1]d,"id":"5","T\u0053":%[2]d}`, dir10, dir11, "escaped and in another case"},
		{"6", `{"ts":%[1]d,"id":"6","x":{"ts":%[2]d,"TS":%[2]d}}`, dir10, dir10, "nested members are not the record's"},
		{"7", `{"ts":%[1]d,"id":"7","TS":%[1]d,"ts":%[2]d,"tS":%[1]d}`, dir11, dir10, "three matches for ORC"},
	}
	for _, format := range []string{"text", "orc"} {
		t.Run(format, func(t *testing.T) {
			e := newEnv(t, 1)
			cfg := e.config(func(c *committer.Config) {
				c.Format.Name = format
				if format == "orc" {
					c.Format.Schema = loggen.Schema // newFormat's
				}
			})
			o := opts{}
			if format == "orc" {
				o.format = newFormat(t, "orc")
			}
			in := e.start(cfg, o)
			running := true
			defer func() {
				if running {
					in.stop(t)
				}
			}()
			var recs []string
			for _, c := range cases {
				recs = append(recs, fmt.Sprintf(c.rec, h10, h11))
			}
			e.produceRaw(recs...)
			waitFor(t, 10*time.Second, "every record committed", func() bool {
				return len(readTable(t, e.dir).IDs) == len(cases)
			})
			// Stopped, every file is committed and none is being merged.
			in.stop(t)
			running = false

			got := readRows(t, e.dir)
			for _, c := range cases {
				want := c.text
				if format == "orc" {
					want = c.orc
				}
				r, ok := got[c.id]
				if !ok {
					t.Errorf("record %s (%s) is not in the table", c.id, c.why)
					continue
				}
				if r.dir != want {
					t.Errorf("record %s (%s) is in %s, want %s", c.id, c.why, r.dir, want)
				}
				if format == "orc" {
					// The row's own ts column says which hour it belongs to.
					hour := time.UnixMilli(r.ts).UTC().Format("log_date=20060102/log_hour=15")
					if hour != r.dir {
						t.Errorf("record %s (%s) is in %s, its ts column %d says %s", c.id, c.why, r.dir, r.ts, hour)
					}
				}
			}
		})
	}
}

type dupKeyRow struct {
	dir string
	ts  int64 // ORC only: the ts column
}

// readRows returns every committed record's partition directory (and, for
// ORC, its ts column) by id.
func readRows(t *testing.T, root string) map[string]dupKeyRow {
	t.Helper()
	lfs, err := fsys.NewLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	decoders := map[string]committest.Decoder{".orc": decodeORCIDTs}
	rows := map[string]dupKeyRow{}
	var walk func(dir string)
	walk = func(dir string) {
		ents, err := lfs.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, ent := range ents {
			name := ent.Name()
			p := path.Join(dir, name)
			switch {
			case strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_"):
				continue
			case ent.IsDir():
				walk(p)
				continue
			case !strings.HasPrefix(name, "part-") || strings.HasSuffix(name, ".index"):
				continue
			}
			recs, err := committest.ReadFile(lfs, p, decoders)
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range recs {
				var r struct {
					ID string `json:"id"`
					TS int64  `json:"ts_column"`
				}
				// Text lines keep their duplicate keys; only id is read.
				if err := json.Unmarshal(rec, &r); err != nil {
					t.Fatalf("%s: %q: %v", p, rec, err)
				}
				if _, dup := rows[r.ID]; dup {
					t.Errorf("record %s twice", r.ID)
				}
				rows[r.ID] = dupKeyRow{dir: dir, ts: r.TS}
			}
		}
	}
	walk("")
	return rows
}

// decodeORCIDTs reduces each ORC row to its id and ts columns.
func decodeORCIDTs(r fsys.Reader) ([][]byte, error) {
	var out [][]byte
	err := committest.ORCRows(r, func(fields []reader.Field) error {
		var id string
		var ts int64
		for _, fl := range fields {
			switch fl.Name {
			case "id":
				id, _ = fl.Value.(string)
			case "ts":
				ts, _ = fl.Value.(int64)
			}
		}
		out = append(out, []byte(`{"id":`+strconv.Quote(id)+`,"ts_column":`+strconv.FormatInt(ts, 10)+`}`))
		return nil
	})
	return out, err
}
