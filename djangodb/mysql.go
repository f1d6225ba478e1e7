package djangodb

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"
)

// mysqlTLS are the values of the tls parameter the driver knows without a
// configuration registered in the program: verified TLS, none, TLS
// without verification, and TLS when the server offers it.
var mysqlTLS = map[string]bool{"true": true, "false": true, "skip-verify": true, "preferred": true}

// mysqlDSN turns a mysql:// URL into the driver's DSN
// (user:password@tcp(host:port)/database?params). The URL's path is the
// database; its parameters may be tls (true, false, skip-verify,
// preferred) and socket (a Unix socket's path, instead of host and port).
// Any other parameter is refused: the driver would send it to the server
// as a SET of a system variable. The session reads datetimes as UTC
// time.Time values and runs in ANSI mode, so that the queries' || joins
// strings as in PostgreSQL and SQLite.
func mysqlDSN(u *url.URL) (string, error) {
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" {
		return "", errors.New("djangodb: the MySQL URL names no database: mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
	}
	if strings.ContainsAny(db, "/?") {
		return "", fmt.Errorf("djangodb: %q is not a database name", db)
	}
	var user, pass string
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	if strings.ContainsAny(user, ":@") {
		return "", errors.New("djangodb: a MySQL user name with ':' or '@' cannot be given in the URL")
	}
	q := u.Query()
	addr := "tcp(" + net.JoinHostPort(cmp.Or(u.Hostname(), "127.0.0.1"), cmp.Or(u.Port(), "3306")) + ")"
	params := url.Values{"parseTime": {"true"}, "loc": {"UTC"}, "timeout": {"10s"}, "sql_mode": {"'ANSI'"}}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := q.Get(k)
		switch {
		case k == "socket" && v != "" && !strings.ContainsAny(v, "()"):
			if u.Host != "" {
				return "", errors.New("djangodb: give the MySQL server's host or its socket, not both (mysql://USER@/DATABASE?socket=PATH)")
			}
			addr = "unix(" + v + ")"
		case k == "tls" && mysqlTLS[v]:
			params.Set("tls", v)
		case k == "password":
			return "", errors.New("djangodb: give the MySQL password in the URL's user part (mysql://USER:PASSWORD@HOST/DATABASE)")
		case k == "socket" || k == "tls":
			return "", fmt.Errorf("djangodb: the MySQL URL's %s parameter is not valid (tls: true, false, skip-verify or preferred; socket: a path)", k)
		default:
			return "", fmt.Errorf("djangodb: the MySQL URL's parameter %q is not known: give only tls or socket", k)
		}
	}
	creds := ""
	if user != "" || pass != "" {
		creds = user
		if pass != "" {
			creds += ":" + pass
		}
		creds += "@"
	}
	return creds + addr + "/" + db + "?" + params.Encode(), nil
}

func (s *Source) openMySQL(ctx context.Context, source string) error {
	u, err := url.Parse(source)
	if err != nil {
		return errors.New("djangodb: the MySQL URL is not a valid URL")
	}
	s.dialect, s.name = "mysql", redact(u)
	dsn, err := mysqlDSN(u)
	if err != nil {
		return err
	}
	if err := s.begin(ctx, "mysql", dsn); err != nil {
		return errors.New(withoutSecret(err, u))
	}
	return nil
}

// withoutSecret is err's message with the URL's password taken out, should
// the driver ever repeat it.
func withoutSecret(err error, u *url.URL) string {
	msg := err.Error()
	if u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "***")
		}
	}
	return msg
}
