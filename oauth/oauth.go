// Package oauth is gatehouse's OAuth2 provider, as Django OAuth Toolkit
// behaves: its settings (Config), the registration of clients (Clients)
// and the removal of expired tokens (Cleaner). It knows nothing of HTTP.
package oauth
