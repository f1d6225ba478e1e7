package oidc

import "github.com/gatehouse-auth/gatehouse/oauth"

// Discovery is the OpenID Provider metadata (OpenID Connect Discovery 1.0
// section 3): the authorization server's (RFC 8414) and what OpenID
// Connect adds, exactly as enabled: the code flow only, with the query
// response mode, public subjects, no request objects and no claims
// parameter.
type Discovery struct {
	oauth.Metadata
	UserinfoEndpoint                 string   `json:"userinfo_endpoint"`
	EndSessionEndpoint               string   `json:"end_session_endpoint"`
	SubjectTypesSupported            []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
	ClaimsSupported                  []string `json:"claims_supported"`
	PromptValuesSupported            []string `json:"prompt_values_supported"`
	ClaimsParameterSupported         bool     `json:"claims_parameter_supported"`
	RequestParameterSupported        bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported     bool     `json:"request_uri_parameter_supported"`
}

// UserinfoPath and EndSessionPath are where the two endpoints are served
// under the issuer (DOT's paths).
const (
	UserinfoPath   = "/o/userinfo/"
	EndSessionPath = "/o/logout/"
)

// Discovery extends the authorization server's metadata m (its endpoints
// under the provider's BaseURL) with OpenID Connect's; its issuer is the
// provider's (the iss of its id_tokens).
func (p *Provider) Discovery(m oauth.Metadata) Discovery {
	m.Issuer = p.cfg.Issuer
	claims := []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp",
		"name", "given_name", "family_name", "preferred_username", "email"}
	if p.cfg.EmailVerified {
		claims = append(claims, "email_verified")
	}
	return Discovery{
		Metadata:                         m,
		UserinfoEndpoint:                 p.cfg.BaseURL + UserinfoPath,
		EndSessionEndpoint:               p.cfg.BaseURL + EndSessionPath,
		SubjectTypesSupported:            []string{"public"},
		IDTokenSigningAlgValuesSupported: p.signer.Algorithms(),
		ClaimsSupported:                  claims,
		PromptValuesSupported:            []string{oauth.PromptNone, oauth.PromptLogin, oauth.PromptConsent, oauth.PromptSelectAccount},
	}
}
