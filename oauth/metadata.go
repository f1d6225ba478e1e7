package oauth

import "github.com/gatehouse-auth/gatehouse"

// Metadata is the authorization server metadata of RFC 8414: the
// endpoints under the issuer and what this provider supports, exactly as
// it is enabled (no OpenID Connect, no implicit grant, PKCE with S256
// only).
type Metadata struct {
	Issuer                                    string   `json:"issuer"`
	AuthorizationEndpoint                     string   `json:"authorization_endpoint"`
	TokenEndpoint                             string   `json:"token_endpoint"`
	JWKSURI                                   string   `json:"jwks_uri,omitempty"`
	ScopesSupported                           []string `json:"scopes_supported"`
	ResponseTypesSupported                    []string `json:"response_types_supported"`
	ResponseModesSupported                    []string `json:"response_modes_supported"`
	GrantTypesSupported                       []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported         []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpoint                        string   `json:"revocation_endpoint"`
	RevocationEndpointAuthMethodsSupported    []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpoint                     string   `json:"introspection_endpoint"`
	IntrospectionEndpointAuthMethodsSupported []string `json:"introspection_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported             []string `json:"code_challenge_methods_supported"`
	DeviceAuthorizationEndpoint               string   `json:"device_authorization_endpoint"`
}

// Metadata describes this provider under issuer, the public URL of
// gatehouse's routes (no trailing slash). jwksURI is where the public
// signing keys are published, "" when there are none.
func (p *Provider) Metadata(issuer, jwksURI string) Metadata {
	clientAuth := []string{"client_secret_basic", "client_secret_post"}
	return Metadata{
		Issuer:                 issuer,
		AuthorizationEndpoint:  issuer + "/o/authorize/",
		TokenEndpoint:          issuer + "/o/token/",
		JWKSURI:                jwksURI,
		ScopesSupported:        p.cfg.Scopes.Names(),
		ResponseTypesSupported: []string{"code"},
		ResponseModesSupported: []string{"query"},
		GrantTypesSupported:    []string{"authorization_code", "password", "client_credentials", "refresh_token", gatehouse.GrantDeviceCode},
		// Public clients send their client_id alone.
		TokenEndpointAuthMethodsSupported:         append(clientAuth[:2:2], "none"),
		RevocationEndpoint:                        issuer + "/o/revoke_token/",
		RevocationEndpointAuthMethodsSupported:    append(clientAuth[:2:2], "none"),
		IntrospectionEndpoint:                     issuer + "/o/introspect/",
		IntrospectionEndpointAuthMethodsSupported: clientAuth,
		CodeChallengeMethodsSupported:             []string{"S256"},
		DeviceAuthorizationEndpoint:               issuer + "/o/device-authorization/",
	}
}
