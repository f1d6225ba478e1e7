package gatehouse

import (
	"context"
	"net/netip"
)

// RequestInfo is what the HTTP layer knows of the request a service call
// serves: the services read it to record who did what from where (the
// audit log) without depending on net/http.
type RequestInfo struct {
	// ID is the request id, as in the access log and X-Request-Id.
	ID string
	// Source is the client's address: the connection's peer, or the
	// address a trusted proxy forwarded. Invalid when unknown.
	Source netip.Addr
	// UserID is the authenticated user, once known (0 before).
	UserID int64
	// ClientID is the OAuth client the request authenticated as (or whose
	// access token it bears, where a view says so), once known ("" before);
	// the HTTP layer answers CORS by its allowed origins.
	ClientID string
}

type requestKey struct{}

// WithRequest returns ctx carrying ri. ri stays owned by the caller, which
// may fill in UserID later.
func WithRequest(ctx context.Context, ri *RequestInfo) context.Context {
	return context.WithValue(ctx, requestKey{}, ri)
}

// SourceFrom is the client address of the request ctx serves, invalid
// when unknown (a CLI command, a test without the middleware).
func SourceFrom(ctx context.Context) netip.Addr {
	if ri := RequestFrom(ctx); ri != nil {
		return ri.Source
	}
	return netip.Addr{}
}

// RequestFrom returns the RequestInfo ctx carries, or nil.
func RequestFrom(ctx context.Context) *RequestInfo {
	ri, _ := ctx.Value(requestKey{}).(*RequestInfo)
	return ri
}
