package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// serve refuses a mount prefix that is not a clean path, naming the
// variable, and the file and line when the configuration file set it.
func TestMountPrefixRefusedAtStart(t *testing.T) {
	for _, tc := range []struct{ name, value, file, want string }{
		{"no leading slash", "auth", "", `GATEHOUSE_MOUNT_PREFIX: want a path such as /auth (a leading slash, no trailing slash, no dot segments), got "auth"`},
		{"trailing slash", "/auth/", "", `GATEHOUSE_MOUNT_PREFIX: want a path such as /auth (a leading slash, no trailing slash, no dot segments), got "/auth/"`},
		{"escape", "/a%2fb", "", `GATEHOUSE_MOUNT_PREFIX: "/a%2fb" has '%': want letters, digits and -._~/ only`},
		{"from the file", "", "GATEHOUSE_MOUNT_PREFIX=/a/../b\n", `GATEHOUSE_MOUNT_PREFIX: want a path such as /auth`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := baseEnv(filepath.Join(t.TempDir(), "gatehouse.db"))
			env["GATEHOUSE_ADDR"] = "127.0.0.1:0"
			if tc.value != "" {
				env["GATEHOUSE_MOUNT_PREFIX"] = tc.value
			}
			if tc.file != "" {
				env["GATEHOUSE_CONFIG"] = writeConfig(t, 0o600, tc.file)
			}
			err := run(context.Background(), []string{"gatehouse", "serve"}, getenvFrom(env), strings.NewReader(""), &strings.Builder{}, &strings.Builder{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v; want %s", err, tc.want)
			}
			if tc.file != "" && !strings.Contains(err.Error(), "(GATEHOUSE_MOUNT_PREFIX is set in "+env["GATEHOUSE_CONFIG"]+" line 1)") {
				t.Fatalf("%v; want the file and line", err)
			}
		})
	}
}
