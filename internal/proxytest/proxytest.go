// Package proxytest runs real reverse proxies, nginx (auth_request) and
// Caddy (forward_auth), in front of an upstream and gatehouse's
// forward-auth endpoint, with the configurations docs/protect-your-api.md
// gives (read from the document itself), for the proxy tests and the
// benchmark. Each proxy runs as the
// calling user, its files in a directory of the caller's, in the
// foreground (no systemd, no daemon).
package proxytest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// IdentityHeaders are the identity headers gatehouse answers by default,
// which the documented configurations copy to the upstream and strip from
// the client's request.
var IdentityHeaders = []string{"X-Auth-User-Id", "X-Auth-Username", "X-Auth-Email", "X-Auth-Is-Staff",
	"X-Auth-Scopes", "X-Auth-Client-Id", "X-Auth-Token-Kind"}

// Config is where a proxy listens and what it talks to.
type Config struct {
	Dir       string // the proxy's own files (configuration, logs, pid, temporary files)
	Listen    string // host:port the proxy listens on
	Gatehouse string // host:port of gatehouse
	Upstream  string // host:port of the protected API
	// Site is the configuration to run (Documented's); for nginx, the
	// contents of the http block.
	Site string
	// NoAuth runs, instead of Site, an nginx that proxies to the upstream
	// without asking gatehouse (the benchmark's baseline).
	NoAuth bool
	// Workers is nginx's worker_processes (0: 1).
	Workers int
}

// Binary finds a proxy's executable (nginx, caddy) in PATH or /usr/sbin,
// where Debian installs nginx and a user's PATH may not look.
func Binary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in PATH, /usr/sbin or /usr/bin (Debian: apt-get install %s)", name, name)
}

// Documented returns the configuration of docs/protect-your-api.md in its
// first fenced block of lang ("nginx" or "caddyfile"), with c's addresses
// in place of the document's: gatehouse at 127.0.0.1:8000, the API at
// 127.0.0.1:9000, nginx listening on 80, Caddy serving api.example.com.
// The tests run exactly what the document tells readers to copy.
func Documented(docPath, lang string, c Config) (string, error) {
	b, err := os.ReadFile(docPath)
	if err != nil {
		return "", err
	}
	_, block, ok := strings.Cut(string(b), "```"+lang+"\n")
	if !ok {
		return "", fmt.Errorf("%s: no %s block", docPath, lang)
	}
	block, _, ok = strings.Cut(block, "```")
	if !ok {
		return "", fmt.Errorf("%s: the %s block does not end", docPath, lang)
	}
	r := strings.NewReplacer("127.0.0.1:8000", c.Gatehouse, "127.0.0.1:9000", c.Upstream,
		"listen 80;", "listen "+c.Listen+";", "api.example.com {", "http://"+c.Listen+" {")
	out := r.Replace(block)
	for _, want := range []string{c.Gatehouse, c.Upstream, c.Listen} {
		if !strings.Contains(out, want) {
			return "", fmt.Errorf("%s: the %s block no longer names the address %s stands for", docPath, lang, want)
		}
	}
	return out, nil
}

// NginxConfig is a whole nginx configuration running c.Site (the http
// block's contents, as Documented returns them) with its files in c.Dir;
// with c.NoAuth, a server that proxies every request to c.Upstream
// without asking gatehouse.
func NginxConfig(c Config) string {
	var b strings.Builder
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n" // workers must reach the temporary directories in c.Dir
	}
	fmt.Fprintf(&b, `%sworker_processes %[3]d;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;

`, user, c.Dir, max(c.Workers, 1))
	if c.NoAuth {
		fmt.Fprintf(&b, `upstream api { server %s; keepalive 32; }
server {
    listen %s;
    location / {
        proxy_pass http://api;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
}
`, c.Upstream, c.Listen)
	} else {
		b.WriteString(c.Site)
	}
	b.WriteString("}\n")
	return b.String()
}

// CaddyConfig is a whole Caddyfile running c.Site (a site block, as
// Documented returns it) with its state in c.Dir.
func CaddyConfig(c Config) string {
	return fmt.Sprintf(`{
	admin off
	auto_https off
	storage file_system %s/data
}

%s`, c.Dir, c.Site)
}

// Proxy is a running proxy.
type Proxy struct {
	cmd  *exec.Cmd
	done chan error
	log  string // where its errors go
}

// Stop ends the proxy and waits for it.
func (p *Proxy) Stop() {
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// Log is what the proxy wrote to its error log so far.
func (p *Proxy) Log() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// StartNginx writes NginxConfig(c) to c.Dir and runs nginx in the
// foreground until Stop; it returns once c.Listen accepts connections.
func StartNginx(ctx context.Context, c Config) (*Proxy, error) {
	bin, err := Binary("nginx")
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(c.Dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(NginxConfig(c)), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-p", c.Dir, "-c", conf, "-e", filepath.Join(c.Dir, "error.log"), "-g", "daemon off;")
	return start(ctx, cmd, c.Listen, filepath.Join(c.Dir, "error.log"))
}

// StartCaddy writes CaddyConfig(c) to c.Dir and runs caddy in the foreground
// until Stop; it returns once c.Listen accepts connections.
func StartCaddy(ctx context.Context, c Config) (*Proxy, error) {
	bin, err := Binary("caddy")
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(c.Dir, "Caddyfile")
	if err := os.WriteFile(conf, []byte(CaddyConfig(c)), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "run", "--config", conf, "--adapter", "caddyfile")
	// Caddy keeps its state under HOME/XDG directories: the run's own.
	cmd.Env = append(os.Environ(), "HOME="+c.Dir, "XDG_DATA_HOME="+c.Dir+"/data", "XDG_CONFIG_HOME="+c.Dir+"/config")
	return start(ctx, cmd, c.Listen, filepath.Join(c.Dir, "caddy.log"))
}

func start(ctx context.Context, cmd *exec.Cmd, listen, logPath string) (*Proxy, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	p := &Proxy{cmd: cmd, done: make(chan error, 1), log: logPath}
	go func() { p.done <- cmd.Wait(); logf.Close() }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", listen, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return p, nil
		}
		select {
		case err := <-p.done:
			p.done <- err
			return nil, fmt.Errorf("%s exited: %v\n%s", filepath.Base(cmd.Path), err, p.Log())
		case <-ctx.Done():
			p.Stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, errors.New(filepath.Base(cmd.Path) + " did not listen on " + listen + "\n" + p.Log())
		}
	}
}

// FreeAddr is a free 127.0.0.1 port.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
