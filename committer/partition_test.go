package committer

import (
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestPatternBounds(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	kolkata := mustLoc(t, "Asia/Kolkata")
	shanghai := mustLoc(t, "Asia/Shanghai")
	cases := []struct {
		name       string
		pattern    string
		loc        *time.Location
		at         time.Time
		path       string
		start, end time.Time
	}{
		{"shanghai hour", "log_date={yyyyMMdd}/log_hour={HH}", shanghai, time.Date(2026, 11, 21, 5, 30, 0, 0, time.UTC),
			"log_date=20261121/log_hour=13", time.Date(2026, 11, 21, 5, 0, 0, 0, time.UTC), time.Date(2026, 11, 21, 6, 0, 0, 0, time.UTC)},
		{"fall back: local 01 lasts two hours", "dt={yyyy-MM-dd}/hr={HH}", ny, time.Date(2026, 11, 1, 6, 10, 0, 0, time.UTC),
			"dt=2026-11-01/hr=01", time.Date(2026, 11, 1, 5, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 7, 0, 0, 0, time.UTC)},
		{"spring forward: 01 ends at 03", "dt={yyyyMMdd}/hr={HH}", ny, time.Date(2026, 3, 8, 6, 59, 0, 0, time.UTC),
			"dt=20260308/hr=01", time.Date(2026, 3, 8, 6, 0, 0, 0, time.UTC), time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC)},
		{"spring forward: next is 03", "dt={yyyyMMdd}/hr={HH}", ny, time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC),
			"dt=20260308/hr=03", time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC), time.Date(2026, 3, 8, 8, 0, 0, 0, time.UTC)},
		{"half-hour zone", "dt={yyyyMMdd}/hr={HH}", kolkata, time.Date(2026, 11, 21, 5, 45, 0, 0, time.UTC),
			"dt=20261121/hr=11", time.Date(2026, 11, 21, 5, 30, 0, 0, time.UTC), time.Date(2026, 11, 21, 6, 30, 0, 0, time.UTC)},
		{"daily with a 23-hour day", "dt={yyyyMMdd}", ny, time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC),
			"dt=20260308", time.Date(2026, 3, 8, 5, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 4, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		p, err := ParsePattern(c.pattern, c.loc)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		path, s, e := p.Bounds(c.at)
		if path != c.path || !s.Equal(c.start) || !e.Equal(c.end) {
			t.Errorf("%s: Bounds(%v) = %s [%v, %v), want %s [%v, %v)", c.name, c.at, path, s.UTC(), e.UTC(), c.path, c.start, c.end)
		}
	}
}

func TestPatternErrors(t *testing.T) {
	for _, p := range []string{"", "log_date", "dt={yyyyMMdd}/hr={hh}", "dt={yyyy}", "dt={yyyyMMdd", "_dt={yyyyMMdd}", "dt={}"} {
		if _, err := ParsePattern(p, time.UTC); err == nil {
			t.Errorf("pattern %q accepted", p)
		}
	}
}

func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{"log_date={yyyyMMdd}/log_hour={HH}", "dt={yyyy-MM-dd}", "a=b{yyyy}c{MM}{dd}/h={HH}x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePattern(s, time.UTC)
		if err != nil {
			return
		}
		at := time.Date(2026, 11, 21, 13, 7, 0, 0, time.UTC)
		path, start, end := p.Bounds(at)
		if path == "" || start.After(at) || !end.After(at) {
			t.Fatalf("%q: Bounds = %q [%v, %v)", s, path, start, end)
		}
	})
}
