package server_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// pollClock advances the server's clock by the device flow's interval
// before each request to the token endpoint, as the seconds a device waits
// between polls would, and counts those polls.
type pollClock struct {
	e     *env
	polls atomic.Int32
	next  http.RoundTripper
}

func (p *pollClock) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/o/token/") {
		p.e.clock.advance(6 * time.Second)
		p.polls.Add(1)
	}
	return p.next.RoundTrip(r)
}

// A real RFC 8628 client, golang.org/x/oauth2's DeviceAuth and
// DeviceAccessToken (what Go command-line tools use), against the device
// flow: the authorization's fields as it reads them, polls answered
// authorization_pending until the user approves on /o/device/, then the
// tokens (the access token works, the refresh token rotates through its
// token source); a denial reaches it as access_denied.
func TestDeviceFlowRealClient(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		e.setupDevice()
		pc := &pollClock{e: e, next: http.DefaultTransport}
		ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: pc})
		cfg := &oauth2.Config{ClientID: "tv-client", Scopes: []string{"read", "write"},
			Endpoint: oauth2.Endpoint{DeviceAuthURL: e.http.URL + "/o/device-authorization/", TokenURL: e.http.URL + "/o/token/",
				AuthStyle: oauth2.AuthStyleInParams}}

		// flow authorizes a device, lets the user decide with button once
		// the device has polled, and returns what the device got.
		flow := func(button string) (*oauth2.Token, error) {
			da, err := cfg.DeviceAuth(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !userCodeRE.MatchString(da.UserCode) || da.VerificationURI != e.http.URL+"/o/device/" ||
				da.VerificationURIComplete != da.VerificationURI+"?user_code="+da.UserCode || da.Interval != 5 ||
				time.Until(da.Expiry) < 9*time.Minute || time.Until(da.Expiry) > 11*time.Minute {
				t.Fatalf("device authorization as the client read it: %+v", da)
			}
			da.Interval = 1 // a second of real time a poll; pollClock moves the server's clock
			type result struct {
				tok *oauth2.Token
				err error
			}
			done := make(chan result, 1)
			before := pc.polls.Load()
			go func() {
				tok, err := cfg.DeviceAccessToken(ctx, da)
				done <- result{tok, err}
			}()
			for deadline := time.Now().Add(10 * time.Second); pc.polls.Load() == before; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the client did not poll")
				}
			}
			b := e.browser()
			b.login("alice", "alicepass")
			if status, page := b.decide(da.UserCode, button); status != 200 {
				t.Fatalf("%s: %d %s", button, status, page)
			}
			select {
			case r := <-done:
				return r.tok, r.err
			case <-time.After(15 * time.Second):
				t.Fatal("the client did not finish")
			}
			return nil, nil
		}

		tok, err := flow("allow")
		if err != nil {
			t.Fatalf("approved: %v", err)
		}
		if tok.TokenType != "Bearer" || tok.RefreshToken == "" || tok.Extra("scope") != "read write" || pc.polls.Load() < 2 {
			t.Fatalf("token %+v (scope %v) after %d polls", tok, tok.Extra("scope"), pc.polls.Load())
		}
		if s := e.meStatus(tok.AccessToken); s != 200 {
			t.Fatalf("/api/me/ with the device's token: %d", s)
		}
		old := *tok
		tok.Expiry = time.Now().Add(-time.Minute)
		fresh, err := cfg.TokenSource(ctx, tok).Token()
		if err != nil || fresh.RefreshToken == old.RefreshToken || e.meStatus(fresh.AccessToken) != 200 {
			t.Fatalf("refresh through the token source: %v", err)
		}

		_, err = flow("cancel")
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "access_denied" {
			t.Fatalf("denied: %v", err)
		}
	})
}
