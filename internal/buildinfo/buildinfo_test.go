package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestGet(t *testing.T) {
	vcs := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/gatehouse-auth/gatehouse", Version: "(devel)"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2025-01-02T03:04:05Z"}}}
	dirty := &debug.BuildInfo{GoVersion: "go1.26.0", Settings: append(append([]debug.BuildSetting{}, vcs.Settings...), debug.BuildSetting{Key: "vcs.modified", Value: "true"})}
	installed := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.4.0"}}
	for _, tc := range []struct {
		name                  string
		version, commit, date string
		bi                    *debug.BuildInfo
		want                  Info
		line                  string
	}{
		{"linker values win", "v1.2.0", "abc", "2024-12-31T00:00:00Z", vcs,
			Info{"v1.2.0", "abc", "2024-12-31T00:00:00Z", "go1.26.0"}, "gatehouse v1.2.0 (commit abc, 2024-12-31T00:00:00Z, go1.26.0)"},
		{"checkout build", "", "", "", vcs,
			Info{"devel", "0123456789abcdef0123", "2025-01-02T03:04:05Z", "go1.26.0"}, "gatehouse devel (commit 0123456789ab, 2025-01-02T03:04:05Z, go1.26.0)"},
		{"modified checkout", "", "", "", dirty,
			Info{"devel", "0123456789abcdef0123+dirty", "2025-01-02T03:04:05Z", "go1.26.0"}, "gatehouse devel (commit 0123456789ab+dirty, 2025-01-02T03:04:05Z, go1.26.0)"},
		{"go install @version", "", "", "", installed,
			Info{"v1.4.0", "", "", "go1.26.0"}, "gatehouse v1.4.0 (go1.26.0)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := get(tc.version, tc.commit, tc.date, tc.bi)
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if got.String() != tc.line {
				t.Errorf("String() = %q, want %q", got.String(), tc.line)
			}
		})
	}
	if got := get("", "", "", nil); got.Version != "devel" || got.GoVersion == "" {
		t.Errorf("without build info: %+v", got)
	}
}
