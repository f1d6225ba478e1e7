package main

import (
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// The device flow's settings are refused out of range, naming the
// variable; createapplication registers a device client without a
// redirect URI.
func TestDeviceSettingsAndApplication(t *testing.T) {
	for _, c := range []struct{ name, value, want string }{
		{"GATEHOUSE_OAUTH_DEVICE_INTERVAL", "0", "GATEHOUSE_OAUTH_DEVICE_INTERVAL"},
		{"GATEHOUSE_OAUTH_DEVICE_INTERVAL", "1500ms", "GATEHOUSE_OAUTH_DEVICE_INTERVAL"},
		{"GATEHOUSE_OAUTH_DEVICE_INTERVAL", "2m", "GATEHOUSE_OAUTH_DEVICE_INTERVAL"},
		{"GATEHOUSE_OAUTH_DEVICE_CODE_LIFETIME", "31m", "GATEHOUSE_OAUTH_DEVICE_CODE_LIFETIME"},
		{"GATEHOUSE_OAUTH_DEVICE_CODE_LIFETIME", "5", "GATEHOUSE_OAUTH_DEVICE_CODE_LIFETIME"},
	} {
		env := baseEnv(testdb.URL(t, "sqlite"))
		env[c.name] = c.value
		if _, err := runCmd(t, env, "migrate"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%s: %v", c.name, c.value, err)
		}
	}
	env := baseEnv(testdb.URL(t, "sqlite"))
	env["GATEHOUSE_OAUTH_DEVICE_INTERVAL"] = "10"
	env["GATEHOUSE_OAUTH_DEVICE_CODE_LIFETIME"] = "30m"
	if out, err := runCmd(t, env, "migrate"); err != nil {
		t.Fatalf("migrate: %v %s", err, out)
	}
	out, err := runCmd(t, env, "createapplication", "--client-id", "tv", "--name", "TV", "--client-type", "public",
		"--grant-types", "urn:ietf:params:oauth:grant-type:device_code")
	if err != nil {
		t.Fatalf("createapplication: %v %s", err, out)
	}
	if out, err := runCmd(t, env, "listapplications"); err != nil || !strings.Contains(out, "urn:ietf:params:oauth:grant-type:device_code") {
		t.Fatalf("listapplications: %v %s", err, out)
	}
}
