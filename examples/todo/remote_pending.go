//go:build !guardremote

package main

import (
	"errors"
	"log/slog"

	"github.com/gatehouse-auth/gatehouse/guard"
)

// errNoRemote: guard's Remote authenticator is not in this tree yet.
var errNoRemote = errors.New("the separate-service mode needs guard.NewRemote, which is not built into this program yet")

// remote is guard's Remote authenticator for cfg.
//
// TODO(issue 16 merge): guard.NewRemote comes with the wt-guard branch.
// Once it is merged, delete this file and the build constraint of
// remote_guard.go, which holds the real one.
func remote(remoteConfig, *slog.Logger) (guard.Authenticator, error) { return nil, errNoRemote }
