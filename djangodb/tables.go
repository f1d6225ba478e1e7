package djangodb

// The Django tables an import reads, in the order they are loaded (parents
// before the rows that name them), each with its columns in the order
// dumpdata writes the model's fields. The shapes are Django 3.2's auth and
// contenttypes, DRF's authtoken, django-rest-knox 4, simplejwt 5's
// token_blacklist and Django OAuth Toolkit 1.7 (djangodb/testdata holds
// the DDL Django writes for them).

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/gatehouse-auth/gatehouse/fixture"
)

// kind is how a column's value is written in a dumpdata object.
type kind int

const (
	kInt     kind = iota // a number: integers and foreign keys
	kStr                 // a string
	kBool                // true or false (SQLite stores 0 or 1)
	kTime                // a datetime, as DjangoJSONEncoder writes it
	kUUID                // a UUID in its dashed form (SQLite stores 32 hex digits)
	kNatural             // a natural key: "a.b" selected, ["a", "b"] written
	kUserRef             // a user by natural key: "u" + the key selected, ["key"] written; "x" names no user (userKeys)
)

// column is one field of a model: the dumpdata field name and its column.
type column struct {
	field, col string
	kind       kind
	// sel, when set, is the SQL expression selected instead of col.
	sel string
	// required columns are those gatehouse's converter needs; a table
	// without one is not the table it expects. Other columns missing (an
	// older version of the package) are left out of the object, as that
	// version's dumpdata leaves them out.
	required bool
}

// m2m is a many-to-many field, read from its through table: the owner's
// rows list the targets' primary keys.
type m2m struct {
	field, table, owner, target string
}

// table is how one Django table becomes dumpdata objects.
type table struct {
	name, model string
	pk          column // the primary key: kInt, kStr, or kUUID (a custom user model's)
	// key is the column the rows are read in order of (keyset pagination),
	// unique and indexed; empty means the primary key. DRF tokens are read
	// in order of user_id: their primary key is the key itself, a
	// credential, which the import must not write down as its progress.
	key    column
	where  string // an extra condition on the rows, or empty
	cols   []column
	m2m    []m2m
	attach *attached
}

// attached rows are read with the rows of the table they name (their link
// column holds its primary key), so that both reach the converter in the
// same batch: a blacklisted token with its outstanding token, a refresh
// token with its access token.
type attached struct {
	t    *table
	link string
}

func (c column) expr() string {
	if c.sel != "" {
		return c.sel
	}
	return ident(c.col)
}

func (t *table) keyCol() column {
	if t.key.col != "" {
		return t.key
	}
	return t.pk
}

func req(field, col string, k kind) column {
	return column{field: field, col: col, kind: k, required: true}
}
func opt(field, col string, k kind) column { return column{field: field, col: col, kind: k} }

var idPK = req("", "id", kInt)

var (
	contentTypes = &table{name: "django_content_type", model: "contenttypes.contenttype", pk: idPK,
		cols: []column{req("app_label", "app_label", kStr), req("model", "model", kStr)}}
	permissions = &table{name: "auth_permission", model: "auth.permission", pk: idPK,
		// The content type by its natural key, as dumpdata --natural-foreign
		// writes it: gatehouse keeps a permission's app label and model,
		// not the content types, which an earlier batch read.
		cols: []column{req("name", "name", kStr), {field: "content_type", col: "content_type_id", kind: kNatural, required: true,
			sel: "(SELECT ct.app_label || '.' || ct.model FROM django_content_type ct WHERE ct.id = auth_permission.content_type_id)"},
			req("codename", "codename", kStr)}}
	groups = &table{name: "auth_group", model: "auth.group", pk: idPK,
		cols: []column{req("name", "name", kStr)},
		m2m:  []m2m{{"permissions", "auth_group_permissions", "group_id", "permission_id"}}}
	users = &table{name: "auth_user", model: "auth.user", pk: idPK,
		cols: []column{req("password", "password", kStr), req("last_login", "last_login", kTime), req("is_superuser", "is_superuser", kBool),
			req("username", "username", kStr), req("first_name", "first_name", kStr), req("last_name", "last_name", kStr),
			req("email", "email", kStr), req("is_staff", "is_staff", kBool), req("is_active", "is_active", kBool),
			req("date_joined", "date_joined", kTime)},
		m2m: []m2m{{"groups", "auth_user_groups", "user_id", "group_id"},
			{"user_permissions", "auth_user_user_permissions", "user_id", "permission_id"}}}
	drfTokens = &table{name: "authtoken_token", model: "authtoken.token", pk: req("", "key", kStr), key: req("", "user_id", kInt),
		cols: []column{req("user", "user_id", kInt), req("created", "created", kTime)}}
	knoxTokens = &table{name: "knox_authtoken", model: "knox.authtoken", pk: req("", "digest", kStr),
		cols: []column{opt("salt", "salt", kStr), opt("token_key", "token_key", kStr), req("user", "user_id", kInt),
			req("created", "created", kTime), opt("expiry", "expiry", kTime)}}
	blacklisted = &table{name: "token_blacklist_blacklistedtoken", model: "token_blacklist.blacklistedtoken", pk: idPK,
		cols: []column{req("token", "token_id", kInt), req("blacklisted_at", "blacklisted_at", kTime)}}
	outstanding = &table{name: "token_blacklist_outstandingtoken", model: "token_blacklist.outstandingtoken", pk: idPK,
		cols: []column{req("user", "user_id", kInt), req("jti", "jti", kStr), opt("token", "token", kStr),
			opt("created_at", "created_at", kTime), req("expires_at", "expires_at", kTime)},
		attach: &attached{t: blacklisted, link: "token_id"}}
	applications = &table{name: "oauth2_provider_application", model: "oauth2_provider.application", pk: idPK,
		cols: []column{req("client_id", "client_id", kStr), req("user", "user_id", kInt), req("redirect_uris", "redirect_uris", kStr),
			req("client_type", "client_type", kStr), req("authorization_grant_type", "authorization_grant_type", kStr),
			req("client_secret", "client_secret", kStr), req("name", "name", kStr), req("skip_authorization", "skip_authorization", kBool),
			opt("created", "created", kTime), opt("updated", "updated", kTime), opt("algorithm", "algorithm", kStr),
			opt("allowed_origins", "allowed_origins", kStr), opt("hash_client_secret", "hash_client_secret", kBool)}} // DOT 2 only
	idTokens = &table{name: "oauth2_provider_idtoken", model: "oauth2_provider.idtoken", pk: idPK,
		cols: []column{opt("user", "user_id", kInt), opt("jti", "jti", kUUID), opt("application", "application_id", kInt),
			opt("expires", "expires", kTime), opt("scope", "scope", kStr), opt("created", "created", kTime), opt("updated", "updated", kTime)}}
	oauthGrants = &table{name: "oauth2_provider_grant", model: "oauth2_provider.grant", pk: idPK,
		cols: []column{req("user", "user_id", kInt), req("code", "code", kStr), req("application", "application_id", kInt),
			req("expires", "expires", kTime), req("redirect_uri", "redirect_uri", kStr), req("scope", "scope", kStr),
			opt("created", "created", kTime), opt("updated", "updated", kTime), opt("code_challenge", "code_challenge", kStr),
			opt("code_challenge_method", "code_challenge_method", kStr), opt("nonce", "nonce", kStr), opt("claims", "claims", kStr)}}
	refreshCols = []column{req("user", "user_id", kInt), req("token", "token", kStr), req("application", "application_id", kInt),
		req("access_token", "access_token_id", kInt), opt("created", "created", kTime), opt("updated", "updated", kTime),
		opt("revoked", "revoked", kTime), opt("token_family", "token_family", kUUID)} // token_family: DOT 2.4+
	linkedRefresh = &table{name: "oauth2_provider_refreshtoken", model: "oauth2_provider.refreshtoken", pk: idPK, cols: refreshCols}
	accessTokens  = &table{name: "oauth2_provider_accesstoken", model: "oauth2_provider.accesstoken", pk: idPK,
		cols: []column{req("user", "user_id", kInt), opt("source_refresh_token", "source_refresh_token_id", kInt), req("token", "token", kStr),
			opt("id_token", "id_token_id", kInt), req("application", "application_id", kInt), req("expires", "expires", kTime),
			req("scope", "scope", kStr), opt("created", "created", kTime), opt("updated", "updated", kTime)},
		attach: &attached{t: linkedRefresh, link: "access_token_id"}}
	// Refresh tokens without an access token (revoked ones: DOT deletes
	// the access token), which the access tokens' pass does not reach.
	loneRefresh = &table{name: "oauth2_provider_refreshtoken", model: "oauth2_provider.refreshtoken", pk: idPK, cols: refreshCols,
		where: "access_token_id IS NULL"}
)

// userTable is the users' table for o: Django's auth_user, or the table
// of a custom user model. Such a model extends AbstractBaseUser
// (password, last_login, required) and has whichever of auth.User's other
// fields it declares; PermissionsMixin's many-to-many tables are named
// after its table, their owner column after the model.
func userTable(o Options) (*table, error) {
	label := strings.ToLower(strings.TrimSpace(o.UserModel))
	if label == "" || label == users.model {
		if o.UserTable != "" {
			return nil, errors.New("djangodb: --user-table names the table of a custom user model, given with --user-model")
		}
		return users, nil
	}
	app, model, ok := strings.Cut(label, ".")
	if !ok || !identifier.MatchString(app) || !identifier.MatchString(model) {
		return nil, fmt.Errorf("djangodb: user model %q: give it as app_label.Model, as AUTH_USER_MODEL names it (e.g. accounts.User)", o.UserModel)
	}
	name := app + "_" + model
	if o.UserTable != "" {
		if !identifier.MatchString(o.UserTable) {
			return nil, fmt.Errorf("djangodb: user table %q is not a table name gatehouse reads (lower-case letters, digits and underscores)", o.UserTable)
		}
		name = o.UserTable
	}
	t := &table{name: name, model: label, pk: idPK,
		cols: []column{req("password", "password", kStr), req("last_login", "last_login", kTime), opt("is_superuser", "is_superuser", kBool)}}
	for _, c := range users.cols[3:] {
		t.cols = append(t.cols, opt(c.field, c.col, c.kind))
	}
	owner := model + "_id"
	t.m2m = []m2m{{"groups", name + "_groups", owner, "group_id"}, {"user_permissions", name + "_user_permissions", owner, "permission_id"}}
	return t, nil
}

// dotTables are the passes over each of DOT's swappable models' table.
var dotTables = map[string][]*table{
	applications.model: {applications}, oauthGrants.model: {oauthGrants},
	accessTokens.model: {accessTokens}, linkedRefresh.model: {linkedRefresh, loneRefresh},
}

// oauthTables returns, for each of DOT's tables whose model o swaps for a
// model of the project's own, a copy of its pass that reads that model's
// table (app_label_model, as Django names it) and gives its objects the
// model's label. Such a model extends DOT's abstract one, so its table
// has DOT's columns (foreign keys are named after the field, whatever
// model they name).
func oauthTables(o Options) (map[*table]*table, error) {
	labels, err := fixture.OAuthModelLabels(o.OAuthModels)
	if err != nil {
		return nil, fmt.Errorf("djangodb: %w", err)
	}
	out := map[*table]*table{}
	for dot, label := range labels {
		app, model, _ := strings.Cut(label, ".")
		name := app + "_" + model
		if !identifier.MatchString(name) {
			return nil, fmt.Errorf("djangodb: %s's table %s is not a table name gatehouse reads (at most 63 characters)", label, name)
		}
		for _, t := range dotTables[dot] {
			c := *t
			c.name, c.model = name, label
			out[t] = &c
		}
	}
	// The access tokens' pass reads their refresh tokens with them: from
	// the project's refresh token table when it has one.
	if at, rt := out[accessTokens], out[linkedRefresh]; at != nil || rt != nil {
		if at == nil {
			c := *accessTokens
			at, out[accessTokens] = &c, &c
		}
		attach := *accessTokens.attach
		if rt != nil {
			attach.t = rt
		}
		at.attach = &attach
	}
	return out, nil
}

// identifier is a name Django's models and tables take.
var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// plan is every pass of an import, in load order.
var plan = []*table{contentTypes, permissions, groups, users, drfTokens, knoxTokens, outstanding,
	applications, idTokens, oauthGrants, accessTokens, loneRefresh}
