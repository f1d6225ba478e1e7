package jsonstr_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/jsonstr"
)

// Any string comes out as encoding/json (without HTML escaping) and
// log/slog's JSON handler write it.
func FuzzAppend(f *testing.F) {
	for _, s := range []string{"", "alice", "Ålice \"q\" \\ <b>&", "\x00\x01\b\f\n\r\t\x1f\x7f", "\u2028\u2029", "\xff\xfe", "é\xc3", "😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		if got := jsonstr.Append(nil, s); !bytes.Equal(got, bytes.TrimSuffix(want.Bytes(), []byte("\n"))) {
			t.Fatalf("Append(%q) = %s, encoding/json %s", s, got, want.Bytes())
		}
		// slog writes the message as {"msg":<quoted>}: compare that part.
		var line bytes.Buffer
		slog.NewJSONHandler(&line, nil).Handle(context.Background(), slog.NewRecord(time.Time{}, slog.LevelInfo, s, 0))
		wantSlog := bytes.TrimSuffix(bytes.TrimPrefix(line.Bytes(), []byte(`{"level":"INFO","msg":`)), []byte("}\n"))
		if got := jsonstr.AppendSlog(nil, s); !bytes.Equal(got, wantSlog) {
			t.Fatalf("AppendSlog(%q) = %s, slog %s", s, got, wantSlog)
		}
	})
}
