package main

import (
	"log/slog"
	"math"
	"strconv"
	"testing"

	"github.com/gatehouse-auth/gatehouse/accounts"
)

func TestParseMemoryLimit(t *testing.T) {
	good := []struct {
		in    string
		auto  bool
		bytes int64
	}{
		{"auto", true, 0},
		{"off", false, 0},
		{"0", false, 0},
		{"1048576", false, 1 << 20},
		{"100B", false, 100},
		{"512KiB", false, 512 << 10},
		{"96MiB", false, 96 << 20},
		{"2GiB", false, 2 << 30},
		{"1TiB", false, 1 << 40},
	}
	for _, c := range good {
		auto, n, err := parseMemoryLimit(c.in)
		if err != nil || auto != c.auto || n != c.bytes {
			t.Errorf("parseMemoryLimit(%q) = %v, %d, %v; want %v, %d", c.in, auto, n, err, c.auto, c.bytes)
		}
	}
	for _, in := range []string{"", "MiB", "-1", "+5MiB", "1.5GiB", "12MB", "12 MiB", "Auto", "99999999TiB", "9223372036854775808"} {
		if _, _, err := parseMemoryLimit(in); err == nil {
			t.Errorf("parseMemoryLimit(%q) accepted", in)
		}
	}
}

// FuzzMemoryLimit reads any memory-limit value: a size it accepts reads
// back the same from its count of bytes.
func FuzzMemoryLimit(f *testing.F) {
	for _, s := range []string{"auto", "off", "512MiB", "99999999TiB", "+5MiB", "-0", "0", "100B"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		auto, n, err := parseMemoryLimit(value)
		if err != nil || auto || n == 0 {
			return
		}
		if _, n2, err := parseMemoryLimit(strconv.FormatInt(n, 10) + "B"); err != nil || n2 != n {
			t.Fatalf("memory limit %q is %d bytes, which reads back as %d (%v)", value, n, n2, err)
		}
	})
}

// fakeLimit stands in for debug.SetMemoryLimit.
type fakeLimit struct {
	cur  int64
	sets []int64
}

func (f *fakeLimit) set(n int64) int64 {
	prev := f.cur
	if n >= 0 {
		f.cur = n
		f.sets = append(f.sets, n)
	}
	return prev
}

func TestMemoryLimitFollowsLargestHash(t *testing.T) {
	f := &fakeLimit{}
	m := newMemoryLimit(19<<20, f.set, nil)
	slots := int64(accounts.HashConcurrency())
	if want := int64(64<<20) + slots*(19<<20); m.bytes() != want {
		t.Fatalf("limit %d, want %d", m.bytes(), want)
	}
	m.fit(1 << 20) // smaller than new hashes: no change
	m.fit(19 << 20)
	if len(f.sets) != 0 {
		t.Fatalf("a hash no larger than the largest changed the limit: %v", f.sets)
	}
	m.fit(100 << 20) // a Django argon2 hash
	if want := int64(64<<20) + slots*(100<<20); len(f.sets) != 1 || f.sets[0] != want {
		t.Fatalf("after a 100 MiB hash: sets %v, want [%d]", f.sets, want)
	}
	m.fit(19 << 20)
	if len(f.sets) != 1 {
		t.Fatalf("the limit was lowered: %v", f.sets)
	}
}

// fakeGC stands in for debug.SetGCPercent.
type fakeGC struct {
	cur  int
	sets []int
}

func (f *fakeGC) set(n int) int {
	prev := f.cur
	f.cur = n
	f.sets = append(f.sets, n)
	return prev
}

func TestApplyMemoryLimit(t *testing.T) {
	const before, gcBefore = 7 << 30, 80
	cases := []struct {
		setting, gomemlimit, gogc string
		want                      int64 // limit while serving
		follows                   bool  // hashMemory set
		lowers                    bool  // the collector's target lowered while hashing
	}{
		{"auto", "", "", 64<<20 + int64(accounts.HashConcurrency())*(19456<<10), true, true},
		{"auto", "", "200", 64<<20 + int64(accounts.HashConcurrency())*(19456<<10), true, false}, // GOGC, applied by the runtime, stays
		{"auto", "300MiB", "", before, false, false},                                             // GOMEMLIMIT, likewise
		{"off", "", "", math.MaxInt64, false, false},
		{"0", "300MiB", "", math.MaxInt64, false, false},
		{"200MiB", "300MiB", "", 200 << 20, false, false},
	}
	for _, c := range cases {
		f, g := &fakeLimit{cur: before}, &fakeGC{cur: gcBefore}
		e := &env{log: slog.New(slog.DiscardHandler), getenv: getenvFrom(map[string]string{"GOMEMLIMIT": c.gomemlimit, "GOGC": c.gogc})}
		e.cfg.MemoryLimit, e.cfg.Argon2Memory = c.setting, 19456
		undo, err := e.applyMemoryLimit(f.set, g.set)
		if err != nil {
			t.Fatalf("%s: %v", c.setting, err)
		}
		if f.cur != c.want || (e.hashMemory != nil) != c.follows {
			t.Errorf("%s (GOMEMLIMIT %q): limit %d, follows hashes %v; want %d, %v", c.setting, c.gomemlimit, f.cur, e.hashMemory != nil, c.want, c.follows)
		}
		if len(g.sets) != 0 {
			t.Errorf("%s: the collector's target set before any hash: %v", c.setting, g.sets)
		}
		if e.hashesRunning != nil {
			e.hashesRunning(true)
			if lowered := g.cur == gcPercentHashing; lowered != c.lowers {
				t.Errorf("%s (GOGC %q): target %d while hashing; lowered %v, want %v", c.setting, c.gogc, g.cur, lowered, c.lowers)
			}
			e.hashesRunning(false)
			if g.cur != gcBefore {
				t.Errorf("%s: target %d after hashing, want %d back", c.setting, g.cur, gcBefore)
			}
			e.hashesRunning(true) // undo while hashing restores the target too
		} else if c.lowers {
			t.Errorf("%s: no hashing hook", c.setting)
		}
		undo()
		if f.cur != before || g.cur != gcBefore {
			t.Errorf("%s: undo left limit %d, target %d; want %d, %d", c.setting, f.cur, g.cur, before, gcBefore)
		}
	}
	e := &env{log: slog.New(slog.DiscardHandler), getenv: getenvFrom(nil)}
	e.cfg.MemoryLimit = "lots"
	f, g := &fakeLimit{cur: before}, &fakeGC{cur: gcBefore}
	if _, err := e.applyMemoryLimit(f.set, g.set); err == nil || len(f.sets) != 0 || len(g.sets) != 0 {
		t.Errorf("a bad setting: err %v, sets %v %v", err, f.sets, g.sets)
	}
}
