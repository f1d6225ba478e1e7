package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/admin"
)

// The tokens page of the admin site: credentials of every kind, filtered
// by user, application, kind and state (admin.Credentials), and revoked
// one or many by their check boxes (admin.RevokeCredentials).

// siteTokenKinds name the kinds in the filter.
var siteTokenKinds = []siteOption{
	{Value: "", Label: "Any"},
	{Value: gatehouse.CredentialDRF, Label: "DRF token"},
	{Value: gatehouse.CredentialKnox, Label: "Knox token"},
	{Value: gatehouse.CredentialJWTRefresh, Label: "simplejwt refresh token"},
	{Value: gatehouse.CredentialOAuthAccess, Label: "OAuth access token"},
	{Value: gatehouse.CredentialOAuthRefresh, Label: "OAuth refresh token"},
}

// siteTokenRow is one credential in the list.
type siteTokenRow struct {
	gatehouse.CredentialInfo
	Ref      string // kind:id, the check box's value
	UserHref string
	AppHref  string
	Ended    bool
}

type siteTokensData struct {
	Filters *siteForm
	Rows    []siteTokenRow
	Pager   *sitePager
	Back    string // this listing's query, for after a revocation
	Live    bool   // the listing shows live credentials only
}

// siteTokens lists credentials: GET /admin/tokens/?user=&application=&kind=&state=&page=.
// user is a username or a user id.
func (s *Server) siteTokens(w http.ResponseWriter, r *http.Request, a *siteRequest) {
	q := queryOf(r)
	cq := admin.CredentialQuery{ClientID: q.Get("application"), Kind: q.Get("kind"), State: q.Get("state")}
	var err error
	if u := strings.TrimSpace(q.Get("user")); u != "" {
		cq.UserID, err = s.siteUserNamed(r, a, u)
	}
	var list admin.Listing[gatehouse.CredentialInfo]
	if err == nil {
		number, last := sitePageNumber(q)
		list, err = s.admin.Credentials(r.Context(), a.actor, cq, admin.Page{Number: number, Size: siteListPageSize, Last: last})
	}
	status := http.StatusOK
	if err != nil {
		if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
			s.siteFail(w, r, a, err)
			return
		}
		status = http.StatusBadRequest
	} else if list.OutOfRange() {
		s.siteErrorPage(w, r, a, http.StatusNotFound, "Not found", "Invalid page.")
		return
	}
	appOpts := []siteOption{{Value: "", Label: "Any"}}
	if apps, aerr := s.admin.Applications(r.Context(), a.actor, admin.Page{Size: admin.MaxPageSize}); aerr == nil {
		for _, app := range apps.Items {
			appOpts = append(appOpts, siteOption{Value: app.ClientID, Label: siteAppTitle(app) + " (" + app.ClientID + ")",
				Selected: app.ClientID == cq.ClientID})
		}
	}
	if cq.ClientID != "" && len(appOpts) == 1 {
		appOpts = append(appOpts, siteOption{Value: cq.ClientID, Label: cq.ClientID, Selected: true})
	}
	kinds := make([]siteOption, len(siteTokenKinds))
	for i, k := range siteTokenKinds {
		kinds[i] = k
		kinds[i].Selected = k.Value == cq.Kind
	}
	states := []siteOption{{Value: "", Label: "Live", Selected: cq.State == "" || cq.State == admin.StateLive},
		{Value: admin.StateEnded, Label: "Ended (expired or revoked)", Selected: cq.State == admin.StateEnded},
		{Value: admin.StateAll, Label: "All", Selected: cq.State == admin.StateAll}}
	filters := newSiteForm(err,
		siteField{Name: "user", Label: "User", Type: "text", Value: q.Get("user"), Help: "Username or id.", Autocomplete: "off"},
		siteField{Name: "application", Label: "Application", Type: "select", Options: appOpts},
		siteField{Name: "kind", Label: "Kind", Type: "select", Options: kinds},
		siteField{Name: "state", Label: "State", Type: "select", Options: states},
	)
	back := url.Values{}
	for _, k := range []string{"user", "application", "kind", "state", "page"} {
		if v := q.Get(k); v != "" {
			back.Set(k, v)
		}
	}
	d := siteTokensData{Filters: filters, Back: back.Encode(), Live: cq.State == "" || cq.State == admin.StateLive}
	if err == nil {
		now := s.now()
		for _, c := range list.Items {
			row := siteTokenRow{CredentialInfo: c, Ref: c.Kind + ":" + c.ID,
				Ended: c.Revoked != nil || c.Expires != nil && !c.Expires.After(now)}
			if c.UserID != 0 {
				row.UserHref = s.url(siteUserHref(c.UserID))
			}
			if c.ClientID != "" {
				row.AppHref = s.url(siteAppHref(c.ClientID))
			}
			d.Rows = append(d.Rows, row)
		}
		d.Pager = newSitePager(s.url(sitePrefix+"tokens/"), q, list.Page.Number, list.Page.Size, list.Count)
	}
	s.siteRender(w, r, a, status, "tokens", siteView{Title: "Tokens", Section: "tokens", Data: d})
}

// siteUserHref is the page of user id (under the site).
func siteUserHref(id int64) string { return sitePrefix + "users/" + strconv.FormatInt(id, 10) + "/" }

// siteUserNamed reads the user filter: an id, or a username found with
// the users list (exactly, with the case it is written in). An unknown
// one is EINVALID naming the field.
func (s *Server) siteUserNamed(r *http.Request, a *siteRequest, name string) (int64, error) {
	if id, err := strconv.ParseInt(name, 10, 64); err == nil && id > 0 {
		return id, nil
	}
	l, err := s.admin.ListUsers(r.Context(), a.actor, admin.UserQuery{Search: name}, admin.Page{Size: admin.MaxPageSize})
	if err != nil {
		return 0, err
	}
	for _, u := range l.Items {
		if u.Username == name {
			return u.ID, nil
		}
	}
	return 0, gatehouse.Invalid(gatehouse.FieldError{Field: "user", Code: gatehouse.FieldInvalid, Message: "no user is called " + name + "."})
}

// siteTokensRevoke revokes the credentials checked on the tokens page
// (POST ids=kind:id ...) and goes back to the listing it came from.
func (s *Server) siteTokensRevoke(w http.ResponseWriter, r *http.Request, a *siteRequest) {
	var refs []admin.CredentialRef
	for _, v := range r.PostForm["ids"] {
		kind, id, ok := strings.Cut(v, ":")
		if !ok {
			s.siteErrorPage(w, r, a, http.StatusBadRequest, "Bad request", "The form could not be read.")
			return
		}
		refs = append(refs, admin.CredentialRef{Kind: kind, ID: id})
	}
	back := parseQuery(r.PostForm.Get("back"))
	backURL := sitePrefix + "tokens/"
	if len(back) > 0 {
		backURL += "?" + back.Encode()
	}
	if len(refs) == 0 {
		s.siteErrorPage(w, r, a, http.StatusBadRequest, "Nothing selected", "Check the tokens to revoke, then press Revoke.")
		return
	}
	n, err := s.admin.RevokeCredentials(r.Context(), a.actor, admin.Revocation{IDs: refs})
	if err != nil {
		s.siteFail(w, r, a, err)
		return
	}
	s.siteRedirect(w, backURL, "revoked", int(n))
}
