// Package proxytest runs real reverse proxies, nginx (auth_request) and
// Caddy (forward_auth), in front of an upstream and gatehouse's
// forward-auth endpoint, with the configurations docs/protect-your-api.md
// gives, for the proxy tests and the benchmark. Each proxy runs as the
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
// which the proxy copies to the upstream and strips from the client's
// request.
var IdentityHeaders = []string{"X-Auth-User-Id", "X-Auth-Username", "X-Auth-Email", "X-Auth-Is-Staff",
	"X-Auth-Scopes", "X-Auth-Client-Id", "X-Auth-Token-Kind"}

// Config is where a proxy listens and what it talks to.
type Config struct {
	Dir       string // the proxy's own files (configuration, logs, pid, temporary files)
	Listen    string // host:port the proxy listens on
	Gatehouse string // host:port of gatehouse
	Upstream  string // host:port of the protected API
	// NoAuth proxies to the upstream without asking gatehouse (the
	// benchmark's baseline).
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

// varName is the nginx variable holding header h ("$auth_x_auth_user_id").
func varName(h string) string { return "$auth_" + strings.ReplaceAll(strings.ToLower(h), "-", "_") }

// NginxConfig is the nginx configuration of docs/protect-your-api.md,
// with paths and addresses filled in.
func NginxConfig(c Config) string {
	var b strings.Builder
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n" // workers must reach the temporary directories in c.Dir
	}
	fmt.Fprintf(&b, `%sworker_processes %[6]d;
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

    upstream gatehouse { server %[3]s; keepalive 32; }
    upstream api { server %[4]s; keepalive 32; }

    server {
        listen %[5]s;
`, user, c.Dir, c.Gatehouse, c.Upstream, c.Listen, max(c.Workers, 1))
	if c.NoAuth {
		b.WriteString(`        location / {
            proxy_pass http://api;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
`)
		return b.String()
	}
	b.WriteString(`        location / {
            auth_request /_gatehouse;
`)
	for _, h := range IdentityHeaders {
		fmt.Fprintf(&b, "            auth_request_set %s $upstream_http_%s;\n", varName(h), strings.ReplaceAll(strings.ToLower(h), "-", "_"))
	}
	b.WriteString(`            auth_request_set $auth_body $upstream_http_x_auth_body;
            auth_request_set $auth_challenge $upstream_http_www_authenticate;
            error_page 401 = @gatehouse_401;
            error_page 403 = @gatehouse_403;

            # Overwrite what the client sent: an empty value sends no header.
`)
	for _, h := range IdentityHeaders {
		fmt.Fprintf(&b, "            proxy_set_header %s %s;\n", h, varName(h))
	}
	b.WriteString(`            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header Connection "";
            proxy_http_version 1.1;
            proxy_pass http://api;
        }

        location = /_gatehouse {
            internal;
            proxy_pass http://gatehouse/auth/verify/;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Forwarded-Method $request_method;
            proxy_set_header X-Forwarded-Uri $request_uri;
            proxy_set_header X-Forwarded-Host $host;
            # A client's own X-Original-* must not reach gatehouse beside them.
            proxy_set_header X-Original-Method "";
            proxy_set_header X-Original-URI "";
            proxy_set_header Connection "";
            proxy_http_version 1.1;
        }

        location @gatehouse_401 {
            add_header WWW-Authenticate $auth_challenge always;
            add_header Cache-Control no-store always;
            default_type application/json;
            return 401 $auth_body;
        }
        location @gatehouse_403 {
            add_header Cache-Control no-store always;
            default_type application/json;
            return 403 $auth_body;
        }
    }
}
`)
	return b.String()
}

// CaddyConfig is the Caddyfile of docs/protect-your-api.md, with addresses
// filled in.
func CaddyConfig(c Config) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{
	admin off
	auto_https off
	storage file_system %s/data
}

http://%s {
	route {
`, c.Dir, c.Listen)
	if !c.NoAuth {
		b.WriteString("\t\t# Whatever the client sent, before forward_auth sets them.\n")
		for _, h := range IdentityHeaders {
			fmt.Fprintf(&b, "\t\trequest_header -%s\n", h)
		}
		fmt.Fprintf(&b, `		forward_auth %s {
			uri /auth/verify/
			copy_headers %s
			# Caddy sends X-Forwarded-Method and -Uri; a client's own
			# X-Original-* beside them would make gatehouse deny.
			header_up -X-Original-Method
			header_up -X-Original-URI
		}
`, c.Gatehouse, strings.Join(IdentityHeaders, " "))
	}
	fmt.Fprintf(&b, "\t\treverse_proxy %s\n\t}\n}\n", c.Upstream)
	return b.String()
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

// StartNginx writes NginxConfig to c.Dir and runs nginx in the
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

// StartCaddy writes CaddyConfig to c.Dir and runs caddy in the foreground
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
