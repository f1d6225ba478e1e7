package metrics

import (
	"context"
	"slices"

	"github.com/gatehouse-auth/gatehouse"
)

// The label values the audit metrics take; anything else is "other".
var (
	loginVias = []string{string(gatehouse.LoginDRFToken), string(gatehouse.LoginSimpleJWT), string(gatehouse.LoginOAuthPassword),
		string(gatehouse.LoginPage), "device_user_code", "client_authentication"}
	loginOutcomes = []string{"succeeded", gatehouse.AuditReasonUnknownUser, gatehouse.AuditReasonBadPassword,
		gatehouse.AuditReasonInactive, gatehouse.AuditReasonTooLong, "throttled", "locked"}
	tokenKinds = []string{gatehouse.AuditKindOAuth, gatehouse.AuditKindSimpleJWT, gatehouse.AuditKindDRF}
	// oauthGrants are the grant_type values of token events ("none" for
	// the kinds without grants).
	oauthGrants = []string{"authorization_code", "password", "client_credentials", "refresh_token",
		"urn:ietf:params:oauth:grant-type:device_code"}
	tokenOutcomes = map[string]string{gatehouse.AuditTokenIssued: "issued", gatehouse.AuditTokenRefreshed: "refreshed",
		gatehouse.AuditTokenRevoked: "revoked"}
)

// bounded is v when it is one of known, else "other".
func bounded(v string, known []string) string {
	if slices.Contains(known, v) {
		return v
	}
	return "other"
}

// preset creates the audit series with their usual labels at 0, so that
// a rate or an alert on them has a series before the first event.
func (m *Metrics) preset() {
	for _, e := range gatehouse.AuditEvents() {
		m.events.WithLabelValues(e)
	}
	for _, via := range loginVias[:4] { // the four login paths; the guard's other callers appear when refused
		for _, o := range loginOutcomes {
			m.logins.WithLabelValues(via, o)
		}
	}
	for _, o := range []string{"issued", "refreshed", "revoked"} {
		for _, k := range tokenKinds {
			m.tokens.WithLabelValues(k, "none", o)
		}
	}
	for _, g := range oauthGrants {
		m.tokens.WithLabelValues(gatehouse.AuditKindOAuth, g, "issued")
	}
	for _, k := range []string{"code", gatehouse.AuditKindOAuth, gatehouse.AuditKindSimpleJWT} {
		m.replays.WithLabelValues(k)
	}
}

// Auditor returns a gatehouse.Auditor that counts each event and then
// hands it to next (the audit.Recorder): the services report to it as to
// the recorder, and the metrics see every login, token, replay and
// refusal the audit log sees. It reads the event name and the via,
// reason, kind and grant details, each bounded to the values audit.go
// defines.
func (m *Metrics) Auditor(next gatehouse.Auditor) gatehouse.Auditor {
	if next == nil {
		next = gatehouse.NoAudit{}
	}
	return &auditor{m: m, next: next}
}

type auditor struct {
	m    *Metrics
	next gatehouse.Auditor
}

func (a *auditor) Record(ctx context.Context, e gatehouse.AuditEvent) {
	a.m.count(e)
	a.next.Record(ctx, e)
}

// count adds e to the audit metrics.
func (m *Metrics) count(e gatehouse.AuditEvent) {
	m.events.WithLabelValues(bounded(e.Event, gatehouse.AuditEvents())).Inc()
	d := e.Detail // a nil map reads as empty
	switch e.Event {
	case gatehouse.AuditLoginSucceeded:
		m.logins.WithLabelValues(bounded(d["via"], loginVias), "succeeded").Inc()
	case gatehouse.AuditLoginFailed:
		m.logins.WithLabelValues(bounded(d["via"], loginVias), bounded(d["reason"], loginOutcomes)).Inc()
	case gatehouse.AuditLoginThrottled:
		m.logins.WithLabelValues(bounded(d["via"], loginVias), "throttled").Inc()
	case gatehouse.AuditLoginLocked:
		m.logins.WithLabelValues(bounded(d["via"], loginVias), "locked").Inc()
	case gatehouse.AuditTokenIssued, gatehouse.AuditTokenRefreshed, gatehouse.AuditTokenRevoked:
		kind := bounded(d["kind"], tokenKinds)
		grant := "none"
		if g, ok := d["grant"]; ok && g != "" {
			grant = bounded(g, oauthGrants)
		}
		m.tokens.WithLabelValues(kind, grant, tokenOutcomes[e.Event]).Inc()
	case gatehouse.AuditTokenReused:
		m.replays.WithLabelValues(bounded(d["kind"], tokenKinds)).Inc()
	case gatehouse.AuditCodeReplayed:
		m.replays.WithLabelValues("code").Inc()
	}
}
