// Package buildinfo says which gatehouse this binary is: its version, the
// commit it was built from and when that commit was made. A release build
// sets them with the linker (the Makefile's build target):
//
//	go build -ldflags "-X github.com/gatehouse-auth/gatehouse/internal/buildinfo.version=v1.2.0 ..."
//
// Without them, the values come from what the Go toolchain records in
// every binary (runtime/debug.ReadBuildInfo): the module version of a
// `go install ...@version` build, and the VCS revision and time of a build
// in a git checkout.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set by the linker (-X); empty when not.
var (
	version string
	commit  string
	date    string
)

// Info is what a binary knows about its build.
type Info struct {
	Version   string // v1.2.0, or "devel" when nothing says
	Commit    string // the VCS revision, "" when unknown; "+dirty" when built from a modified tree
	Date      string // the commit's time (RFC 3339), "" when unknown
	GoVersion string // the toolchain that built the binary
}

// Get returns the build's information: the linker's values first, then
// the toolchain's record of the build.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return get(version, commit, date, bi)
}

func get(version, commit, date string, bi *debug.BuildInfo) Info {
	info := Info{Version: version, Commit: commit, Date: date, GoVersion: runtime.Version()}
	if bi == nil {
		if info.Version == "" {
			info.Version = "devel"
		}
		return info
	}
	if bi.GoVersion != "" {
		info.GoVersion = bi.GoVersion
	}
	var rev, at string
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if info.Commit == "" && rev != "" {
		info.Commit = rev
		if modified {
			info.Commit += "+dirty"
		}
	}
	if info.Date == "" {
		info.Date = at
	}
	if info.Version == "" {
		// "(devel)" is what a build inside the module's own checkout records.
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			info.Version = v
		} else {
			info.Version = "devel"
		}
	}
	return info
}

// String is the one line `gatehouse version` prints:
// "gatehouse v1.2.0 (commit 0123456789ab, 2025-01-02T03:04:05Z, go1.26.0)".
func (i Info) String() string {
	var parts []string
	if i.Commit != "" {
		c := i.Commit
		if rest, dirty := strings.CutSuffix(c, "+dirty"); len(rest) > 12 {
			c = rest[:12]
			if dirty {
				c += "+dirty"
			}
		}
		parts = append(parts, "commit "+c)
	}
	if i.Date != "" {
		parts = append(parts, i.Date)
	}
	parts = append(parts, i.GoVersion)
	return fmt.Sprintf("gatehouse %s (%s)", i.Version, strings.Join(parts, ", "))
}
