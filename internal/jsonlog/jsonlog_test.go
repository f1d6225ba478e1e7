package jsonlog_test

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/jsonlog"
)

// lines writes the record through slog's JSON handler and through this
// package's, and returns both outputs.
func lines(t testing.TB, r slog.Record) (std, fast string) {
	t.Helper()
	var a, b bytes.Buffer
	if err := slog.NewJSONHandler(&a, nil).Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if err := jsonlog.New(&b, nil).Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return a.String(), b.String()
}

func record(msg string, attrs ...slog.Attr) slog.Record {
	r := slog.NewRecord(time.Date(2026, 12, 2, 16, 0, 10, 893905350, time.UTC), slog.LevelInfo, msg, 0)
	r.AddAttrs(attrs...)
	return r
}

// Every record comes out as slog's JSON handler writes it: the access
// log's line, strings that need escaping, every value kind, the ones this
// package leaves to slog (groups, any, odd floats, empty keys, a zero
// time, levels between the named ones).
func TestSameBytesAsSlog(t *testing.T) {
	access := []slog.Attr{slog.String("request_id", "77cf82104251bbb2"), slog.String("method", "GET"), slog.String("path", "/api/me/"),
		slog.Int("status", 200), slog.Float64("duration_ms", 0.045), slog.String("remote_addr", "127.0.0.1"),
		slog.Int64("user_id", 42), slog.String("client_id", "")}
	odd := "a\"b\\c\nd\re\tf\x00g\x1fh\b\f\x7fi<j>&k\u2028l\u2029m\xffn\xc3o€p😀"
	cases := map[string]slog.Record{
		"access log":     record("request", access...),
		"escaping":       record(odd, slog.String(odd, odd)),
		"kinds":          record("k", slog.Bool("t", true), slog.Bool("f", false), slog.Uint64("u", math.MaxUint64), slog.Int64("min", math.MinInt64), slog.Duration("d", 1500*time.Millisecond)),
		"floats":         record("f", slog.Float64("zero", 0), slog.Float64("negzero", math.Copysign(0, -1)), slog.Float64("small", 1e-6), slog.Float64("big", 1e20), slog.Float64("third", 1.0/3), slog.Float64("neg", -12.5)),
		"float e":        record("f", slog.Float64("tiny", 1e-7), slog.Float64("huge", 1e21)),
		"float nan":      record("f", slog.Float64("nan", math.NaN())),
		"float inf":      record("f", slog.Float64("inf", math.Inf(1))),
		"group":          record("g", slog.Group("g", slog.Int("a", 1))),
		"any":            record("a", slog.Any("err", context.Canceled), slog.Any("list", []int{1, 2})),
		"time value":     record("t", slog.Time("at", time.Unix(0, 0).UTC())),
		"empty key":      record("e", slog.String("", "x")),
		"no attrs":       record("plain"),
		"zero time":      slog.NewRecord(time.Time{}, slog.LevelWarn, "no time", 0),
		"level between":  slog.NewRecord(time.Unix(1, 0).UTC(), slog.LevelInfo+2, "lvl", 0),
		"other location": slog.NewRecord(time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600)), slog.LevelError, "loc", 0),
	}
	for name, r := range cases {
		if std, fast := lines(t, r); std != fast {
			t.Errorf("%s:\nslog:    %q\njsonlog: %q", name, std, fast)
		}
	}
}

// The access log's line takes the fast path (not slog's handler), in one
// write.
func TestAccessLineIsFormattedHere(t *testing.T) {
	r := record("request", slog.String("path", "/x"), slog.Int("status", 200), slog.Float64("duration_ms", 1.5))
	if _, ok := jsonlog.Append(nil, r); !ok {
		t.Fatal("the access log's line went to slog's handler")
	}
	if _, ok := jsonlog.Append(nil, record("g", slog.Group("g", slog.Int("a", 1)))); ok {
		t.Fatal("a group was formatted here")
	}
	h := jsonlog.New(discard{}, nil)
	if n := testing.AllocsPerRun(100, func() { h.Handle(context.Background(), r) }); n > 1 {
		t.Fatalf("%.1f allocations per line", n)
	}
}

// Levels below the handler's are not enabled; options this package does
// not implement hand every record to slog's handler.
func TestOptions(t *testing.T) {
	h := jsonlog.New(discard{}, &slog.HandlerOptions{Level: slog.LevelWarn})
	if h.Enabled(context.Background(), slog.LevelInfo) || !h.Enabled(context.Background(), slog.LevelError) {
		t.Fatal("level not applied")
	}
	var a, b bytes.Buffer
	drop := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == "secret" {
			return slog.Attr{}
		}
		return a
	}
	r := record("m", slog.String("secret", "x"), slog.Int("n", 1))
	slog.NewJSONHandler(&a, &slog.HandlerOptions{ReplaceAttr: drop}).Handle(context.Background(), r)
	jsonlog.New(&b, &slog.HandlerOptions{ReplaceAttr: drop}).Handle(context.Background(), r)
	if a.String() != b.String() {
		t.Fatalf("with ReplaceAttr: %q, want %q", b.String(), a.String())
	}
	// A derived logger's lines are slog's, attributes included.
	a.Reset()
	b.Reset()
	slog.New(slog.NewJSONHandler(&a, nil)).With("replica", "r1").WithGroup("g").Info("m", "k", 1)
	slog.New(jsonlog.New(&b, nil)).With("replica", "r1").WithGroup("g").Info("m", "k", 1)
	if strip(a.String()) != strip(b.String()) {
		t.Fatalf("derived: %q, want %q", b.String(), a.String())
	}
}

// strip drops the time, which two calls of a logger do not share.
func strip(s string) string {
	if i := bytes.IndexByte([]byte(s), ','); i >= 0 {
		return s[i:]
	}
	return s
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Any string, integer and float comes out as slog writes it.
func FuzzSameBytesAsSlog(f *testing.F) {
	f.Add("/api/me/", "GET", int64(200), 0.045, "127.0.0.1")
	f.Add("a\"\\\n\x00\u2028\xff", "", int64(-1), 1e-7, "\xc3")
	f.Fuzz(func(t *testing.T, path, method string, n int64, d float64, addr string) {
		r := record(method, slog.String("path", path), slog.Int64("n", n), slog.Float64("d", d), slog.String(addr+"k", addr))
		if std, fast := lines(t, r); std != fast {
			t.Fatalf("slog %q, jsonlog %q", std, fast)
		}
	})
}

func BenchmarkAccessLine(b *testing.B) {
	r := record("request", slog.String("request_id", "77cf82104251bbb2"), slog.String("method", "GET"), slog.String("path", "/api/me/"),
		slog.Int("status", 200), slog.Float64("duration_ms", 0.045), slog.String("remote_addr", "127.0.0.1"),
		slog.Int64("user_id", 42), slog.String("client_id", ""))
	for name, h := range map[string]slog.Handler{"slog": slog.NewJSONHandler(discard{}, nil), "jsonlog": jsonlog.New(discard{}, nil)} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h.Handle(context.Background(), r)
			}
		})
	}
}
