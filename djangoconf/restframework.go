package djangoconf

import (
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse/throttle"
)

// --- REST_FRAMEWORK (Django REST framework 3.14)

// gatehouseAuthentication is the authentication chain of gatehouse's
// /api/ views, the reference project's.
var gatehouseAuthentication = []string{
	"oauth2_provider.contrib.rest_framework.OAuth2Authentication",
	"rest_framework_simplejwt.authentication.JWTAuthentication",
	"rest_framework.authentication.TokenAuthentication",
	"rest_framework.authentication.SessionAuthentication",
}

func (c *converter) restFramework() {
	s := newSection("REST_FRAMEWORK", c.in.RestFramework, map[string]any{
		"DEFAULT_AUTHENTICATION_CLASSES": []any{"rest_framework.authentication.SessionAuthentication", "rest_framework.authentication.BasicAuthentication"},
		"DEFAULT_PAGINATION_CLASS":       nil, "PAGE_SIZE": nil, "DEFAULT_THROTTLE_CLASSES": []any{}, "DEFAULT_THROTTLE_RATES": &Object{},
	})
	c.pagination(s)
	c.throttles(s)
	if classes, ok := stringList(s.get("DEFAULT_AUTHENTICATION_CLASSES")); !ok {
		c.refuse(s.from("DEFAULT_AUTHENTICATION_CLASSES"), "%s is not a list of class paths", show(s.get("DEFAULT_AUTHENTICATION_CLASSES")))
	} else if !slices.Equal(classes, gatehouseAuthentication) {
		for _, cl := range classes {
			if !slices.Contains(gatehouseAuthentication, cl) {
				c.refuse(s.from("DEFAULT_AUTHENTICATION_CLASSES"), "%s: gatehouse's /api/ does not authenticate this way", show(cl))
			}
		}
		var extra []string
		for _, cl := range gatehouseAuthentication {
			if !slices.Contains(classes, cl) {
				extra = append(extra, cl[strings.LastIndexByte(cl, '.')+1:])
			}
		}
		if len(extra) > 0 {
			c.refuse(s.from("DEFAULT_AUTHENTICATION_CLASSES"), "gatehouse's /api/ also accepts %s, which the project does not", strings.Join(extra, ", "))
		}
		c.note(s.from("DEFAULT_AUTHENTICATION_CLASSES"), "gatehouse's /api/ authenticates in this order: OAuth2Authentication, JWTAuthentication, TokenAuthentication, SessionAuthentication")
	}
	if s.isSet("DEFAULT_FILTER_BACKENDS") {
		if b, ok := stringList(s.get("DEFAULT_FILTER_BACKENDS")); !ok || !slices.Equal(b, []string{"django_filters.rest_framework.DjangoFilterBackend"}) {
			c.refuse(s.from("DEFAULT_FILTER_BACKENDS"), "%s: gatehouse's /api/users/ filters by username and email as the reference project's DjangoFilterBackend does", show(s.get("DEFAULT_FILTER_BACKENDS")))
		}
	}
	for _, k := range s.unused() {
		c.refuse(s.from(k), "not carried: it concerns the project's own views; gatehouse's views behave as the reference project's")
	}
}

func (c *converter) pagination(s *section) {
	class := s.get("DEFAULT_PAGINATION_CLASS")
	size := s.get("PAGE_SIZE")
	from := s.from("PAGE_SIZE")
	n, isInt := size.(int64)
	switch {
	case class != "rest_framework.pagination.PageNumberPagination":
		c.refuse(s.from("DEFAULT_PAGINATION_CLASS"), "%s: gatehouse's /api/users/ pages as PageNumberPagination (count, next, previous, results); the page size is left at its default", show(class))
	case size == nil:
		c.refuse(from, "None: the project's lists are not paginated; gatehouse's /api/users/ is, and the page size is left at its default")
	case !isInt || n < 1:
		c.refuse(from, "%s is not a positive whole number; the page size is left at its default", show(size))
	default:
		c.set("GATEHOUSE_PAGE_SIZE", strconv.FormatInt(n, 10), from)
	}
}

// throttleScopes maps the scopes of DRF's rate throttles to their classes.
var throttleScopes = map[string]string{
	throttle.ScopeAnon: "rest_framework.throttling.AnonRateThrottle",
	throttle.ScopeUser: "rest_framework.throttling.UserRateThrottle",
}

func (c *converter) throttles(s *section) {
	classes, ok := stringList(s.get("DEFAULT_THROTTLE_CLASSES"))
	if !ok {
		c.refuse(s.from("DEFAULT_THROTTLE_CLASSES"), "%s is not a list of class paths", show(s.get("DEFAULT_THROTTLE_CLASSES")))
	}
	for _, cl := range classes {
		if cl != throttleScopes[throttle.ScopeAnon] && cl != throttleScopes[throttle.ScopeUser] {
			c.refuse(s.from("DEFAULT_THROTTLE_CLASSES"), "%s: gatehouse throttles by its own scopes (anon, user, login, sign_up, token); this class is not carried", show(cl))
		}
	}
	rates, ok := s.get("DEFAULT_THROTTLE_RATES").(*Object)
	from := s.from("DEFAULT_THROTTLE_RATES")
	if !ok {
		c.refuse(from, "%s is not a dictionary", show(s.get("DEFAULT_THROTTLE_RATES")))
		return
	}
	var out []string
	for _, scope := range rates.Keys {
		v := rates.Values[scope]
		class, ours := throttleScopes[scope]
		if !ours {
			c.refuse(from, "scope %s belongs to the project's own views (ScopedRateThrottle or a class of its own); gatehouse's scopes are anon, user, login, sign_up and token", show(scope))
			continue
		}
		if !slices.Contains(classes, class) {
			c.refuse(from, "scope %s: %s is not in DEFAULT_THROTTLE_CLASSES, so the project applied this rate only to views that name the class; not carried", show(scope), class)
			continue
		}
		rate := "none"
		if v != nil {
			text, _ := v.(string)
			if _, err := throttle.ParseRate(text); err != nil || text == "" {
				c.refuse(from, "scope %s: %s is not a rate such as 100/day", show(scope), show(v))
				continue
			}
			rate = text
		}
		out = append(out, scope+"="+rate)
	}
	if len(out) > 0 {
		c.set("GATEHOUSE_THROTTLE_RATES", strings.Join(out, ","), from)
		c.note(from, "gatehouse's own scopes not named here (login, sign_up, token) keep their defaults (gatehouse config)")
	}
}
