package main

import (
	"flag"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // the zones are known wherever the binary runs (a container without /usr/share/zoneinfo)
)

// timeZoneFlag is --time-zone of loaddata and import: the Django project's
// TIME_ZONE when its USE_TZ is False, in which its datetimes without an
// offset are wall-clock times (dumpdata writes them so; SQLite and MySQL
// store them so). Unset, they are UTC, as Django has them with USE_TZ.
type timeZoneFlag struct{ loc *time.Location }

func (f *timeZoneFlag) register(fs *flag.FlagSet) {
	fs.Var(f, "time-zone", "the project's TIME_ZONE (an IANA name: Europe/Berlin) when its USE_TZ is False: "+
		"datetimes without an offset are read as that zone's wall-clock time (default: UTC, as with USE_TZ = True)")
}

func (f *timeZoneFlag) String() string {
	if f == nil || f.loc == nil {
		return ""
	}
	return f.loc.String()
}

func (f *timeZoneFlag) Set(v string) error {
	v = strings.TrimSpace(v)
	// time.LoadLocation also reads "Local" and paths under ZONEINFO: only
	// names of the IANA database, as Django's TIME_ZONE holds, are taken.
	if v == "" || v == "Local" || strings.Contains(v, "..") || strings.HasPrefix(v, "/") {
		return fmt.Errorf("want an IANA time zone name such as Europe/Berlin or UTC, got %q", v)
	}
	loc, err := time.LoadLocation(v)
	if err != nil {
		return fmt.Errorf("unknown time zone %q: want an IANA name such as Europe/Berlin", v)
	}
	f.loc = loc
	return nil
}
