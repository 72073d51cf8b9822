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
