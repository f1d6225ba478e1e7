package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/guard"
	"github.com/gatehouse-auth/gatehouse/site"
)

// mountPrefix is where gatehouse's routes are served in embedded mode.
const mountPrefix = "/auth"

// app is the program in embedded mode: gatehouse and the API in one
// handler.
type app struct {
	site    *site.Site
	handler http.Handler
}

// embedded opens gatehouse from the GATEHOUSE_* settings getenv gives,
// under /auth/, and puts the API beside it, authenticating in-process.
func embedded(ctx context.Context, getenv func(string) string, log *slog.Logger) (*app, error) {
	cfg, err := site.FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	return embed(ctx, cfg, log)
}

// embed is embedded with the settings read.
func embed(ctx context.Context, cfg site.Config, log *slog.Logger) (*app, error) {
	cfg.MountPrefix = mountPrefix
	s, err := site.Open(ctx, cfg, site.Options{Log: log})
	if err != nil {
		return nil, cfg.Explain(err)
	}
	if err := addPermission(ctx, s); err != nil {
		s.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(mountPrefix+"/", http.StripPrefix(mountPrefix, s.Handler()))
	mux.Handle("/", routes(guard.New(s.Authenticator(), guard.WithLogger(log)), &todos{}))
	return &app{site: s, handler: mux}, nil
}

func (a *app) close() { a.site.Close() }

// addPermission registers todo.delete_item, as Django creates a model's
// permissions after its migrations; an administrator grants it to users
// or groups (gatehouse loaddata, or a Django project's admin before an
// import).
func addPermission(ctx context.Context, s *site.Site) error {
	err := s.Store.CreatePermission(ctx, &gatehouse.Permission{Name: "Can delete item", Codename: "delete_item", AppLabel: "todo", Model: "item"})
	if errors.Is(err, gatehouse.ErrConflict) {
		return nil
	}
	return err
}
