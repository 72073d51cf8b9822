package orc

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTimestampWallClockOfThePartitionZone: with WithTimeZone, a timestamp
// given as an instant (epoch milliseconds, RFC 3339 with Z or an offset)
// is stored as its wall clock in that zone, a zoneless string as written,
// and Apache ORC's Java reader shows that wall clock whether its JVM runs
// in UTC or in the zone itself: the digits of ts and of its partition's
// log_hour agree for every reader. Without the option it stays the UTC
// wall clock, as landfall wrote before.
func TestTimestampWallClockOfThePartitionZone(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	schema, err := ParseSchema("struct<id:int,ts:timestamp>")
	if err != nil {
		t.Fatal(err)
	}
	// 2025-12-02 02:00:00 UTC is 10:00 in Shanghai.
	records := []string{
		`{"id":1,"ts":1764640800000}`,
		`{"id":2,"ts":"2025-12-02T02:30:00.250Z"}`,
		`{"id":3,"ts":"2025-12-02T10:40:00+08:00"}`,
		`{"id":4,"ts":"2025-12-02 10:50:00"}`,
		`{"id":5,"ts":1719795600000}`, // 2024-07-01 01:00 UTC, 09:00 in Shanghai
	}
	dir := t.TempDir()
	write := func(name string, opts ...Option) string {
		path := filepath.Join(dir, name)
		var buf bytes.Buffer
		w, err := NewWriter(&buf, schema, opts...)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range records {
			if err := w.Append([]byte(r)); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(nil); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	zoned := write("shanghai.orc", WithTimeZone(shanghai))
	plain := write("utc.orc")

	wantZoned := []string{"2025-12-02 10:00:00.0", "2025-12-02 10:30:00.25", "2025-12-02 10:40:00.0", "2025-12-02 10:50:00.0", "2024-07-01 09:00:00.0"}
	wantPlain := []string{"2025-12-02 02:00:00.0", "2025-12-02 02:30:00.25", "2025-12-02 02:40:00.0", "2025-12-02 10:50:00.0", "2024-07-01 01:00:00.0"}
	for _, tz := range []string{"UTC", "Asia/Shanghai"} {
		for _, c := range []struct {
			path string
			want []string
		}{{zoned, wantZoned}, {plain, wantPlain}} {
			got := javaTimestamps(t, tz, c.path)
			if strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Errorf("%s read by Apache ORC in a JVM in %s: ts = %q, want %q", filepath.Base(c.path), tz, got, c.want)
			}
		}
	}
}

// javaTimestamps prints the ts column of path with orc-tools in a JVM whose
// default time zone is tz (Apache ORC's reader keeps the wall clock across
// the writer's and the reader's zone; Timestamp.toString prints it).
func javaTimestamps(t *testing.T, tz, path string) []string {
	t.Helper()
	cmd := exec.Command("java", "-Duser.timezone="+tz, "-Xmx256m", "-XX:TieredStopAtLevel=1", "-jar", orcToolsJar(t), "data", path)
	cmd.Env = append(os.Environ(), "TZ="+tz)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("orc-tools data: %v\n%s", err, tail(stderr.String(), 2000))
	}
	var ts []string
	for _, line := range strings.Split(string(out), "\n") {
		if i := strings.Index(line, `"ts":"`); i >= 0 {
			rest := line[i+len(`"ts":"`):]
			ts = append(ts, rest[:strings.IndexByte(rest, '"')])
		}
	}
	return ts
}

// FuzzTimestampZone: parseTimestamp never panics, and the wall clock an
// instant is stored as is the one Go's time package gives for the zone,
// whatever instant the converter's cached zone period was last filled by
// (DST zones included).
func FuzzTimestampZone(f *testing.F) {
	f.Add([]byte("2025-12-02T02:30:00.250Z"), int64(1764640800), int64(0))
	f.Add([]byte("2024-03-10T06:59:59-05:00"), int64(1710053999), int64(1710054000))
	f.Add([]byte("1986-05-04 02:00:00"), int64(515520000), int64(-1))
	f.Add([]byte("2024-11-03T01:30:00+00:00"), int64(-62135596800), int64(253402300799))
	zones := []string{"Asia/Shanghai", "America/New_York", "Australia/Lord_Howe"}
	locs := make([]*time.Location, len(zones))
	for i, z := range zones {
		loc, err := time.LoadLocation(z)
		if err != nil {
			f.Fatal(err)
		}
		locs[i] = loc
	}
	f.Fuzz(func(t *testing.T, text []byte, a, b int64) {
		secs, _, instant, ok := parseTimestamp(text)
		for _, loc := range locs {
			cv := converter{zone: loc}
			for _, s := range []int64{a, b, secs, a} {
				if s < -1<<40 || s > 1<<40 {
					continue
				}
				if !ok && s == secs {
					continue
				}
				_, off := time.Unix(s, 0).In(loc).Zone()
				if got := cv.wallClock(s); got != s+int64(off) {
					t.Fatalf("%s: wall clock of %d = %d, want %d (instant %v)", loc, s, got, s+int64(off), instant)
				}
			}
		}
	})
}
