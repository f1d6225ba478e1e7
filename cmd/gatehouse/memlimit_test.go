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
	m := newMemoryLimit(19<<20, f.set, nil, nil)
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
		lowers                    bool  // the collector's target raised while serving and lowered while hashing
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
		undo, err := e.applyMemoryLimit(f.set, g.set, (&fakeHeap{}).read)
		if err != nil {
			t.Fatalf("%s: %v", c.setting, err)
		}
		if f.cur != c.want || (e.hashMemory != nil) != c.follows {
			t.Errorf("%s (GOMEMLIMIT %q): limit %d, follows hashes %v; want %d, %v", c.setting, c.gomemlimit, f.cur, e.hashMemory != nil, c.want, c.follows)
		}
		serving := gcBefore // the target while serving, no hash running
		if c.lowers {
			serving = gcPercentServing
		}
		if g.cur != serving {
			t.Errorf("%s (GOGC %q): target %d before any hash, want %d", c.setting, c.gogc, g.cur, serving)
		}
		if e.hashesRunning != nil {
			e.hashesRunning(true)
			if lowered := g.cur == gcPercentHashing; lowered != c.lowers {
				t.Errorf("%s (GOGC %q): target %d while hashing; lowered %v, want %v", c.setting, c.gogc, g.cur, lowered, c.lowers)
			}
			e.hashesRunning(false)
			if g.cur != serving {
				t.Errorf("%s: target %d after hashing, want %d back", c.setting, g.cur, serving)
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
	if _, err := e.applyMemoryLimit(f.set, g.set, (&fakeHeap{}).read); err == nil || len(f.sets) != 0 || len(g.sets) != 0 {
		t.Errorf("a bad setting: err %v, sets %v %v", err, f.sets, g.sets)
	}
}

// fakeHeap stands in for liveHeap.
type fakeHeap struct {
	live   int64
	cycles uint64
}

func (h *fakeHeap) read() (int64, uint64) { return h.live, h.cycles }

// The limit makes room for what is live besides the hashes, times the
// heap's growth under the collector's target while hashing (1.5 at GOGC
// 50), measured when hashes start from the last collection if it saw no
// hash running, up or down; a collection while hashes ran changes nothing.
func TestMemoryLimitFollowsLiveHeap(t *testing.T) {
	const mib = 1 << 20
	h := &fakeHeap{}
	m := newMemoryLimit(19*mib, nil, (&fakeGC{cur: 100}).set, h.read)
	f := &fakeLimit{cur: m.bytes()}
	m.set = f.set
	fixed := m.bytes()
	for _, c := range []struct {
		running bool
		live    int64
		cycles  uint64
		why     string
		room    int64 // MiB above fixed
	}{
		{true, 30 * mib, 0, "no collection since start: nothing measured", 0},
		{false, 90 * mib, 3, "hashes end: the limit stays", 0},
		{true, 30 * mib, 4, "a collection while none ran, 30 MiB live: 22 beyond baseLive, times 1.5, rounded up", 36},
		{false, 80 * mib, 9, "hashes end", 36},
		{true, 80 * mib, 9, "no collection between the hashes: kept", 36},
		{false, 50 * mib, 12, "hashes end", 36},
		{true, 5 * mib, 13, "5 MiB live with none running: within baseLive", 0},
		{false, 70 * mib, 13, "hashes end", 0},
		{true, 70 * mib, 14, "62 MiB beyond baseLive: 93, rounded up", 96},
	} {
		h.live, h.cycles = c.live, c.cycles
		m.hashing(c.running)
		if want := fixed + c.room*mib; f.cur != want {
			t.Fatalf("hashing(%v), %d MiB live at collection %d (%s): limit %d MiB, want %d", c.running, c.live/mib, c.cycles, c.why, f.cur/mib, want/mib)
		}
	}
	if len(f.sets) != 3 {
		t.Errorf("the limit was set %d times (%v), want 3", len(f.sets), f.sets)
	}

	// With GOGC set (the target left alone), the default of 100 is assumed.
	f, h = &fakeLimit{}, &fakeHeap{live: 30 * mib, cycles: 1}
	m = newMemoryLimit(19*mib, f.set, nil, h.read)
	m.hashing(true)
	if want := fixed + 44*mib; f.cur != want {
		t.Fatalf("30 MiB live, GOGC set: limit %d MiB, want %d", f.cur/mib, want/mib)
	}
}
