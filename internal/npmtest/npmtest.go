// Package npmtest installs npm packages the tests drive (axe-core for the
// browser test, openid-client for the Node relying party) into the user's
// cache directory, once per version: later runs find them there.
package npmtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Install installs name@version (once) and returns the directory whose
// node_modules holds it. It fails when npm is not installed or the
// registry cannot be reached.
func Install(name, version string) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "gatehouse-test", name+"-"+version)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", name, "package.json")); err == nil {
		return dir, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("npm is not installed")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, npm, "install", "--prefix", dir, "--no-save", "--no-audit", "--no-fund",
		"--no-package-lock", name+"@"+version).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("npm install %s@%s: %v: %s", name, version, err, out)
	}
	return dir, nil
}
