// Package jsonlog is a slog.Handler that writes the same bytes as
// log/slog's JSON handler, faster for the records gatehouse writes most:
// the access log's line per request, whose attributes are strings,
// integers and a float. It formats such a record with strconv appends into
// a pooled buffer and writes it in one call; any record it does not format
// exactly as slog would (a group, a value of another kind, a float json
// would spell otherwise, attributes added with WithAttrs or WithGroup) goes
// to slog's own JSON handler, so the output is slog's in every case.
//
// Measured (docs/performance.md, sixth round): slog's JSON handler was
// about a fifth of a /api/me/ request's CPU with the access log on.
package jsonlog

import (
	"context"
	"io"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Handler is the fast JSON handler; New makes one.
type Handler struct {
	w     io.Writer
	level slog.Leveler
	std   slog.Handler // slog's JSON handler on the same writer, for the rest
	mu    *sync.Mutex  // one Write at a time, as slog's handler does
}

// New returns a handler writing JSON lines to w with opts, as
// slog.NewJSONHandler(w, opts) would. With opts.AddSource or
// opts.ReplaceAttr every record goes to slog's handler.
func New(w io.Writer, opts *slog.HandlerOptions) slog.Handler {
	std := slog.NewJSONHandler(w, opts)
	if opts != nil && (opts.AddSource || opts.ReplaceAttr != nil) {
		return std
	}
	var level slog.Leveler = slog.LevelInfo
	if opts != nil && opts.Level != nil {
		level = opts.Level
	}
	return &Handler{w: w, level: level, std: std, mu: &sync.Mutex{}}
}

// Enabled reports whether level is at or above the handler's.
func (h *Handler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.level.Level()
}

// WithAttrs and WithGroup return slog's handler with them: lines of a
// derived logger are rare.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler { return h.std.WithAttrs(as) }

func (h *Handler) WithGroup(name string) slog.Handler { return h.std.WithGroup(name) }

var pool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// Handle writes r as one line.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	bp := pool.Get().(*[]byte)
	buf, ok := Append((*bp)[:0], r)
	if !ok {
		pool.Put(bp)
		return h.std.Handle(ctx, r)
	}
	h.mu.Lock()
	_, err := h.w.Write(buf)
	h.mu.Unlock()
	if cap(buf) <= 16<<10 {
		*bp = buf
		pool.Put(bp)
	}
	return err
}

// Append appends r as slog's JSON handler (without options) writes it,
// newline included, and reports false when it cannot (then buf's new
// bytes are to be dropped).
func Append(buf []byte, r slog.Record) ([]byte, bool) {
	buf = append(buf, '{')
	if !r.Time.IsZero() {
		t := r.Time.Round(0)
		if y := t.Year(); y < 0 || y >= 10000 {
			return buf, false // slog reports an error inside the line
		}
		buf = append(buf, `"time":"`...)
		buf = t.AppendFormat(buf, time.RFC3339Nano)
		buf = append(buf, `",`...)
	}
	buf = append(buf, `"level":`...)
	buf = appendString(buf, r.Level.String())
	buf = append(buf, `,"msg":`...)
	buf = appendString(buf, r.Message)
	ok := true
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "" {
			ok = false // slog's rules for empty keys: left to it
			return false
		}
		buf = append(buf, ',')
		buf = appendString(buf, a.Key)
		buf = append(buf, ':')
		buf, ok = appendValue(buf, a.Value)
		return ok
	})
	if !ok {
		return buf, false
	}
	return append(buf, "}\n"...), true
}

func appendValue(buf []byte, v slog.Value) ([]byte, bool) {
	switch v.Kind() {
	case slog.KindString:
		return appendString(buf, v.String()), true
	case slog.KindInt64:
		return strconv.AppendInt(buf, v.Int64(), 10), true
	case slog.KindUint64:
		return strconv.AppendUint(buf, v.Uint64(), 10), true
	case slog.KindBool:
		return strconv.AppendBool(buf, v.Bool()), true
	case slog.KindDuration:
		return strconv.AppendInt(buf, int64(v.Duration()), 10), true
	case slog.KindFloat64:
		// encoding/json's spelling, which slog uses: 'f' between 1e-6
		// and 1e21, else 'e' with a two-digit exponent shortened.
		f := v.Float64()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return buf, false
		}
		abs := math.Abs(f)
		if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
			return buf, false // rare: left to slog
		}
		return strconv.AppendFloat(buf, f, 'f', -1, 64), true
	}
	return buf, false
}

const hex = "0123456789abcdef"

// appendString appends s quoted as slog's JSON handler quotes it:
// encoding/json's rules without HTML escaping (", \ and bytes below 0x20
// escaped; invalid UTF-8 as \ufffd; U+2028 and U+2029 escaped), except
// that \b and \f are written \u0008 and \u000c, as slog writes them
// (the server's response encoder, server/drf_respond.go, follows
// encoding/json and writes \b and \f: the two differ on purpose).
func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch b {
			case '"', '\\':
				buf = append(buf, '\\', b)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hex[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
