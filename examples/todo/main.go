// Command todo is a small to-do API protected by gatehouse, two ways:
//
//   - embedded (the default): gatehouse runs in the same process, its
//     routes under /auth/ (sign up, log in, tokens, OAuth), and the API
//     authenticates each request in-process, with no network hop, as the
//     views of a single Django project would. gatehouse reads its
//     GATEHOUSE_* settings as the binary does (GATEHOUSE_DATABASE_URL,
//     GATEHOUSE_SECRET_KEY, ...).
//   - remote (-gatehouse URL): the API is a separate service; it verifies
//     simplejwt tokens with gatehouse's JWKS and asks gatehouse's
//     /o/introspect/ about opaque tokens, as an application registered
//     with --resource-server whose client_id and secret come from
//     TODO_CLIENT_ID and TODO_CLIENT_SECRET. With gatehouse's default
//     HS256 tokens, TODO_JWT_SIGNING_KEY is its signing key.
//
// The API: GET /todos/ and POST /todos/ for any authenticated user,
// DELETE /todos/{id}/ with a write-scoped OAuth token or the
// todo.delete_item permission, GET /admin/todos/ for staff.
//
// Embedded, on an SQLite file:
//
//	GATEHOUSE_DATABASE_URL=todo.db go run ./examples/todo &
//	curl -d username=alice -d password=correct-horse-battery-9 localhost:8080/auth/sign_up/
//	key=$(curl -s -d username=alice -d password=correct-horse-battery-9 localhost:8080/auth/api-token-auth/ | jq -r .token)
//	curl -H "Authorization: Token $key" -d '{"title":"milk"}' localhost:8080/todos/
//	curl -H "Authorization: Token $key" localhost:8080/todos/
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "todo:", err)
		os.Exit(1)
	}
}

// run serves the API until ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("todo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	remoteURL := fs.String("gatehouse", "", "gatehouse's URL: run as a separate service asking it (empty: embed gatehouse under /auth/)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	var h http.Handler
	if *remoteURL == "" {
		app, err := embedded(ctx, getenv, log)
		if err != nil {
			return err
		}
		defer app.close()
		h = app.handler
	} else {
		var err error
		rc := remoteConfig{URL: *remoteURL, ClientID: getenv("TODO_CLIENT_ID"), ClientSecret: getenv("TODO_CLIENT_SECRET"),
			HMACKey: getenv("TODO_JWT_SIGNING_KEY")}
		if h, err = separate(rc, log); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("todo listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
