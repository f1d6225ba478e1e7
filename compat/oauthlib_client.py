#!/usr/bin/python3
"""Password and refresh flows against a running gatehouse with a real client:
Python's requests-oauthlib (Debian package python3-requests-oauthlib).

    /usr/bin/python3 compat/oauthlib_client.py --base http://127.0.0.1:8000

The server must hold the reference fixture (gatehouse loaddata
shared/reference/django-dumpdata.json): alice/alicepass, conf-client /
conf-secret (confidential, password grant) and pub-client (public). Prints
one line per check and a final 'N passed, M failed'; exits 1 on any failure.
"""
import argparse
import os
import sys

import requests
from oauthlib.oauth2 import LegacyApplicationClient, InvalidClientError, InvalidGrantError
from requests_oauthlib import OAuth2Session

results = []


def check(name, cond, detail=""):
    results.append(bool(cond))
    print("%s %s%s" % ("ok  " if cond else "FAIL", name, (": " + detail) if detail and not cond else ""))


def raises(fn, exc):
    try:
        fn()
    except exc:
        return True
    except Exception as e:  # another error is a failure with its name
        print("     raised %s: %s" % (type(e).__name__, e))
        return False
    return False


def me(base, access):
    return requests.get(base + "/api/me/", headers={"Authorization": "Bearer " + access}, timeout=10)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="gatehouse base URL (loopback http is allowed)")
    ap.add_argument("--client-id", default="conf-client")
    ap.add_argument("--client-secret", default="conf-secret")
    ap.add_argument("--public-client-id", default="pub-client")
    ap.add_argument("--username", default="alice")
    ap.add_argument("--password", default="alicepass")
    args = ap.parse_args()
    base = args.base.rstrip("/")
    token_url = base + "/o/token/"
    if base.startswith("http://"):
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"  # plain HTTP on loopback for the test only

    # 1. Password grant, confidential client (HTTP Basic client auth).
    s = OAuth2Session(client=LegacyApplicationClient(client_id=args.client_id))
    tok = s.fetch_token(token_url, username=args.username, password=args.password,
                        client_id=args.client_id, client_secret=args.client_secret)
    check("password grant returns a bearer token", tok.get("token_type") == "Bearer" and len(tok.get("access_token", "")) == 30,
          repr(tok))
    check("password grant returns a refresh token", len(tok.get("refresh_token", "")) == 30)
    check("expires_in is 36000", tok.get("expires_in") == 36000, repr(tok.get("expires_in")))
    check("scope is every configured scope", tok.get("scope") == ["read", "write", "groups"], repr(tok.get("scope")))
    r = s.get(base + "/api/me/")
    check("the session's token authenticates /api/me/", r.status_code == 200 and r.json().get("username") == args.username,
          "%d %s" % (r.status_code, r.text[:200]))

    # 2. Refresh: rotation.
    old = dict(tok)
    new = s.refresh_token(token_url, refresh_token=old["refresh_token"], auth=(args.client_id, args.client_secret))
    check("refresh returns a new access token", new["access_token"] != old["access_token"])
    check("refresh rotates the refresh token", new["refresh_token"] != old["refresh_token"])
    check("the old access token stops working", me(base, old["access_token"]).status_code == 401)
    check("the new access token works", me(base, new["access_token"]).status_code == 200)

    # 3. Scope narrowing on refresh.
    s.scope = ["read"]  # requests-oauthlib sends the session's scope with the refresh
    narrowed = s.refresh_token(token_url, refresh_token=new["refresh_token"], auth=(args.client_id, args.client_secret))
    s.scope = None
    check("refresh narrows the scope", narrowed.get("scope") == ["read"], repr(narrowed.get("scope")))

    # 4. Replaying a rotated refresh token fails and revokes its family.
    check("replaying a rotated refresh token is invalid_grant",
          raises(lambda: s.refresh_token(token_url, refresh_token=old["refresh_token"], auth=(args.client_id, args.client_secret)),
                 InvalidGrantError))
    check("the replay revoked the family's current access token", me(base, narrowed["access_token"]).status_code == 401)

    # 5. Errors.
    bad = OAuth2Session(client=LegacyApplicationClient(client_id=args.client_id))
    check("a wrong password is invalid_grant",
          raises(lambda: bad.fetch_token(token_url, username=args.username, password="wrong",
                                         client_id=args.client_id, client_secret=args.client_secret), InvalidGrantError))
    check("a wrong client secret is invalid_client",
          raises(lambda: bad.fetch_token(token_url, username=args.username, password=args.password,
                                         client_id=args.client_id, client_secret="wrong"), InvalidClientError))

    # 6. Public client: client_id in the body, no secret; refresh the same way.
    p = OAuth2Session(client=LegacyApplicationClient(client_id=args.public_client_id))
    ptok = p.fetch_token(token_url, username=args.username, password=args.password, include_client_id=True)
    check("public client password grant", len(ptok.get("access_token", "")) == 30)
    pnew = p.refresh_token(token_url, refresh_token=ptok["refresh_token"], client_id=args.public_client_id)
    check("public client refresh", pnew["access_token"] != ptok["access_token"] and me(base, pnew["access_token"]).status_code == 200)

    # 7. Revocation (RFC 7009) by the owning client.
    r = requests.post(base + "/o/revoke_token/", data={"token": pnew["access_token"], "client_id": args.public_client_id}, timeout=10)
    check("revoke answers 200", r.status_code == 200, "%d %s" % (r.status_code, r.text[:200]))
    check("a revoked access token is refused", me(base, pnew["access_token"]).status_code == 401)

    failed = results.count(False)
    print("%d passed, %d failed" % (len(results) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # an unexpected error is a failure, not a traceback only
        print("FAIL unexpected %s: %s" % (type(e).__name__, e))
        print("%d passed, %d failed" % (results.count(True), results.count(False) + 1))
        sys.exit(1)
