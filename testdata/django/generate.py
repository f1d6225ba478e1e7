#!/usr/bin/python3
"""Builds the corpus project's database through Django's own APIs and views,
then writes the dumps gatehouse's tests load. Run it through regen.sh.

    generate.py --out DIR        a fresh SQLite database in DIR/db.sqlite3,
                                 the dumps, settings.json, credentials.json
    generate.py --database-only  the same data into CORPUS_DATABASE (e.g. a
                                 PostgreSQL URL), which must be empty

Every hash, key and token is made by Django, DRF, simplejwt or Django OAuth
Toolkit (knox's rows by knox's formulas, knoxstub/models.py). The random
source and the clock are fixed (SEED, START) so that a rerun writes the same
rows: this process's os.urandom and the random module's system source are a
seeded generator. That is only acceptable because every credential made
here is a throwaway test credential, published in credentials.json.

THROWAWAY TEST CREDENTIALS ONLY.
"""
import argparse
import base64
import bz2
import contextlib
import datetime
import gzip
import hashlib
import io
import json
import lzma
import os
import random
import subprocess
import sys
import urllib.parse
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "corpusproject.settings")

# --- The fixed random source: installed before Django is imported. ---------
SEED = 15
_rng = random.Random(SEED)


def _urandom(n):
    return _rng.randbytes(n)


os.urandom = _urandom
random._urandom = _urandom  # random.SystemRandom, hence secrets and oauthlib

# --- The fixed clock. --------------------------------------------------------
# Starts at START and moves one millisecond at every reading (so rows made
# one after the other are ordered), plus what tick() adds.
START = datetime.datetime(2025, 6, 2, 8, 0, 0, tzinfo=datetime.timezone.utc)


class Clock:
    def __init__(self, start):
        self.t = start

    def now(self):
        self.t += datetime.timedelta(milliseconds=1)
        return self.t

    def tick(self, **kw):
        self.t += datetime.timedelta(**kw)


clock = Clock(START)

import django  # noqa: E402

django.setup()

from django.utils import timezone  # noqa: E402

timezone.now = clock.now
import rest_framework_simplejwt.tokens as jwt_tokens  # noqa: E402

jwt_tokens.aware_utcnow = clock.now
from django.core import signing  # noqa: E402
from django.utils import baseconv  # noqa: E402

# Signed values (the session data) carry the clock's time, not the host's.
signing.TimestampSigner.timestamp = lambda self: baseconv.base62.encode(int(clock.t.timestamp()))

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.auth.models import Group, Permission  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from oauth2_provider.models import AccessToken as DOTAccessToken  # noqa: E402
from oauth2_provider.models import Application, Grant, RefreshToken as DOTRefreshToken  # noqa: E402
from oauthlib.common import generate_token  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken  # noqa: E402

from knoxstub.models import AuthToken as KnoxToken  # noqa: E402

User = get_user_model()

# Credentials the tests use outlive them by far: 100 years from START.
LONG = datetime.timedelta(days=36500)

# Users: username, password, hasher (None: unusable), attributes. Every
# password is a throwaway test password.
USERS = [
    ("admin", "admin-Corpus#2025", "pbkdf2_sha256",
     dict(email="admin@example.com", is_staff=True, is_superuser=True, first_name="Ada", last_name="Admin")),
    ("pbkdf2.user", "pbkdf2-Corpus#2025", "pbkdf2_sha256", dict(email="pbkdf2@example.com")),
    ("pbkdf2sha1.user", "pbkdf2sha1-Corpus#2025", "pbkdf2_sha1", dict(email="pbkdf2sha1@example.com")),
    ("argon2.user", "argon2-Corpus#2025", "argon2", dict(email="argon2@example.com", first_name="Argo")),
    ("bcryptsha256.user", "bcryptsha256-Corpus#2025", "bcrypt_sha256", dict(email="bcryptsha256@example.com")),
    ("bcrypt.user", "bcrypt-Corpus#2025", "bcrypt", dict(email="bcrypt@example.com")),
    ("sha1.user", "sha1-Corpus#2025", "sha1", dict(email="sha1@example.com")),
    ("md5.user", "md5-Corpus#2025", "md5", dict(email="md5@example.com")),
    ("unsaltedsha1.user", "unsaltedsha1-Corpus#2025", "unsalted_sha1", dict(email="")),
    ("unsaltedmd5.user", "unsaltedmd5-Corpus#2025", "unsalted_md5", dict(email="unsaltedmd5@example.com")),
    # DES crypt reads 8 characters of the password.
    ("crypt.user", "crypt-pw", "crypt", dict(email="crypt@example.com")),
    ("inactive.user", "inactive-Corpus#2025", "pbkdf2_sha256", dict(email="inactive@example.com", is_active=False)),
    ("staff.user", "staff-Corpus#2025", "argon2", dict(email="staff@example.com", is_staff=True)),
    ("zoë.ødegård", "pässwört-ünïcødé-✓", "pbkdf2_sha256",
     dict(email="zoe@example.com", first_name="Zoë", last_name="Ødegård")),
    ("山田太郎", "パスワード-Corpus#2025", "bcrypt_sha256", dict(email="yamada@example.jp", first_name="太郎", last_name="山田")),
    ("sso.user", None, None, dict(email="sso@example.com", first_name="Single", last_name="Sign-On")),
]

GROUPS = {
    "editors": ["auth.view_user", "auth.change_user", "authtoken.view_token", "oauth2_provider.view_application"],
    "support": ["auth.view_user", "oauth2_provider.view_accesstoken"],
    "auditors": ["token_blacklist.view_outstandingtoken", "token_blacklist.view_blacklistedtoken"],
}
MEMBERS = {
    "staff.user": ["editors"],
    "pbkdf2.user": ["support"],
    "zoë.ødegård": ["editors", "support"],
    "admin": ["editors"],
}
DIRECT_PERMISSIONS = {
    "staff.user": ["auth.add_user"],
    "argon2.user": ["oauth2_provider.add_application", "oauth2_provider.change_application"],
}


def perm(label):
    app, codename = label.split(".")
    return Permission.objects.get(content_type__app_label=app, codename=codename)


@contextlib.contextmanager
def jwt_lifetimes(access, refresh):
    """Sets simplejwt's lifetimes for the tokens made inside (they are read
    from the token classes, set when simplejwt was imported)."""
    old = AccessToken.lifetime, RefreshToken.lifetime
    AccessToken.lifetime, RefreshToken.lifetime = access, refresh
    try:
        yield
    finally:
        AccessToken.lifetime, RefreshToken.lifetime = old


def dot_settings(**changes):
    """The project's OAUTH2_PROVIDER with changes. DOT's views keep the
    oauthlib server of their first request (and its token lifetime) unless
    ALWAYS_RELOAD_OAUTHLIB_CORE is set."""
    return override_settings(OAUTH2_PROVIDER={**settings.OAUTH2_PROVIDER, "ALWAYS_RELOAD_OAUTHLIB_CORE": True, **changes})


def long_dot():
    """DOT settings under which tokens and codes outlive the tests."""
    secs = int(LONG.total_seconds())
    return dot_settings(ACCESS_TOKEN_EXPIRE_SECONDS=secs, AUTHORIZATION_CODE_EXPIRE_SECONDS=secs)


def post(client, path, data, status=200, **extra):
    r = client.post(path, data, **extra)
    if r.status_code != status:
        raise SystemExit("generate: POST %s answered %d: %s" % (path, r.status_code, r.content[:300]))
    return r


def basic(client_id, secret):
    raw = "%s:%s" % (urllib.parse.quote(client_id), urllib.parse.quote(secret))
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(raw.encode()).decode()}


def iso(dt):
    return None if dt is None else dt.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def jwt_claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def build():
    """Creates every row; returns the manifest of clear credentials."""
    cred = {"users": [], "knox_tokens": [], "simplejwt": {"access": [], "refresh": []},
            "oauth": {"applications": [], "access_tokens": [], "refresh_tokens": [], "grants": []}}

    for name, labels in GROUPS.items():
        g = Group.objects.create(name=name)
        g.permissions.set([perm(p) for p in labels])

    users = {}
    for username, password, hasher, attrs in USERS:
        clock.tick(minutes=7)
        u = User.objects.create_user(username, attrs.pop("email", ""), None, date_joined=clock.now(), **attrs)
        if password is not None:
            u.password = make_password(password, hasher=hasher)
            u.save(update_fields=["password"])
        users[username] = u
        for gname in MEMBERS.get(username, []):
            u.groups.add(Group.objects.get(name=gname))
        u.user_permissions.set([perm(p) for p in DIRECT_PERMISSIONS.get(username, [])])
        can = password is not None and u.is_active and hasher != "crypt"
        cred["users"].append({
            "id": u.pk, "username": username, "password": password, "hasher": hasher or "unusable",
            "hash_prefix": u.password.split("$")[0] if "$" in u.password else u.password[:1],
            "is_active": u.is_active, "is_staff": u.is_staff, "is_superuser": u.is_superuser,
            "email": u.email, "first_name": u.first_name, "last_name": u.last_name,
            "groups": MEMBERS.get(username, []), "permissions": DIRECT_PERMISSIONS.get(username, []),
            "gatehouse_can_log_in": can,
            "why_not": None if can else ("unusable password" if password is None else
                                         "inactive" if not u.is_active else "crypt hashes are not verified by gatehouse"),
        })

    # DRF tokens: everyone but unsaltedmd5.user, whose first login makes one.
    clock.tick(hours=1)
    drf = {}
    for username, u in users.items():
        if username != "unsaltedmd5.user":
            drf[username] = Token.objects.create(user=u).key
    for e in cred["users"]:
        e["drf_key"] = drf.get(e["username"])

    # knox: 4.2 and 5.0 rows, with and without expiry, one expired.
    clock.tick(hours=1)
    for username, version, expiry, prefix, valid in [
        ("pbkdf2.user", "4.2", None, "", True),
        ("zoë.ødegård", "4.2", LONG, "", True),
        ("staff.user", "4.2", datetime.timedelta(hours=10), "", False),
        ("argon2.user", "5.0", LONG, "", True),
        ("admin", "5.0", None, "gh_", True),
    ]:
        row, token = KnoxToken.objects.create_token(users[username], version, expiry, prefix)
        cred["knox_tokens"].append({"username": username, "token": token, "knox_version": version,
                                    "token_key": row.token_key, "expiry": iso(row.expiry), "valid": valid})

    # simplejwt, through its views, with rotation and blacklisting.
    clock.tick(hours=1)
    c = Client()
    J = "application/json"

    def obtain(username):
        pw = next(p for n, p, _, _ in USERS if n == username)
        return post(c, "/access-token/", {"username": username, "password": pw}, content_type=J).json()

    def jwt_entry(kind, username, token, state):
        cl = jwt_claims(token)
        cred["simplejwt"][kind].append({"username": username, "token": token, "jti": cl["jti"], "state": state,
                                        "exp": cl["exp"]})

    with jwt_lifetimes(LONG, LONG):
        a0 = obtain("pbkdf2.user")
        clock.tick(minutes=5)
        a1 = post(c, "/access-token/refresh/", {"refresh": a0["refresh"]}, content_type=J).json()
        clock.tick(minutes=5)
        a2 = post(c, "/access-token/refresh/", {"refresh": a1["refresh"]}, content_type=J).json()
        jwt_entry("refresh", "pbkdf2.user", a0["refresh"], "blacklisted (rotated)")
        jwt_entry("refresh", "pbkdf2.user", a1["refresh"], "blacklisted (rotated)")
        jwt_entry("refresh", "pbkdf2.user", a2["refresh"], "live (rotated in, no outstanding row)")
        for a in (a0, a1, a2):
            jwt_entry("access", "pbkdf2.user", a["access"], "live")
        b = obtain("zoë.ødegård")
        jwt_entry("refresh", "zoë.ødegård", b["refresh"], "live")
        jwt_entry("access", "zoë.ødegård", b["access"], "live")
        clock.tick(minutes=3)
        d = RefreshToken.for_user(users["argon2.user"])
        post(c, "/access-token/blacklist/", {"refresh": str(d)}, content_type=J)
        jwt_entry("refresh", "argon2.user", str(d), "blacklisted (logout)")
        jwt_entry("access", "argon2.user", str(d.access_token), "live")
        r = RefreshToken.for_user(users["admin"])
        jwt_entry("refresh", "admin", str(r), "live")
        jwt_entry("access", "admin", str(r.access_token), "live")
        jwt_entry("access", "inactive.user", str(AccessToken.for_user(users["inactive.user"])), "inactive user")
    clock.tick(minutes=3)
    e = obtain("zoë.ødegård")  # the project's own lifetimes: long expired when the tests run
    jwt_entry("refresh", "zoë.ødegård", e["refresh"], "expired")
    jwt_entry("access", "zoë.ødegård", e["access"], "expired")

    # Django OAuth Toolkit applications, every kind, owned by admin.
    clock.tick(hours=1)
    apps = {}
    for key, name, ctype, grant, uris, skip in [
        ("web", "Web app (confidential, authorization code)", Application.CLIENT_CONFIDENTIAL,
         Application.GRANT_AUTHORIZATION_CODE, "https://app.example.com/oauth/callback https://app.example.com/oauth/alt", False),
        ("mobile", "Mobile app (public, PKCE)", Application.CLIENT_PUBLIC, Application.GRANT_AUTHORIZATION_CODE,
         "http://127.0.0.1:8765/callback https://mobile.example.com/callback", False),
        ("service", "Back-end service (client credentials)", Application.CLIENT_CONFIDENTIAL,
         Application.GRANT_CLIENT_CREDENTIALS, "", False),
        ("password", "Legacy password client (confidential)", Application.CLIENT_CONFIDENTIAL, Application.GRANT_PASSWORD, "", False),
        ("public-password", "CLI (public, password grant)", Application.CLIENT_PUBLIC, Application.GRANT_PASSWORD, "", False),
        ("spa", "Old SPA (public, implicit)", Application.CLIENT_PUBLIC, Application.GRANT_IMPLICIT,
         "https://spa.example.com/callback", True),
    ]:
        clock.tick(minutes=1)
        kw = dict(name=name, client_type=ctype, authorization_grant_type=grant, redirect_uris=uris,
                  skip_authorization=skip, user=users["admin"])
        if key == "public-password":
            kw["client_secret"] = ""
        app = Application.objects.create(**kw)
        apps[key] = app
        cred["oauth"]["applications"].append({
            "key": key, "name": name, "client_id": app.client_id, "client_secret": app.client_secret,
            "client_type": ctype, "authorization_grant_type": grant, "redirect_uris": uris.split(),
            "skip_authorization": skip})

    def at_entry(token, username, app_key, scope, state):
        cred["oauth"]["access_tokens"].append({"token": token, "username": username, "client": app_key,
                                               "scope": scope, "state": state})

    def rt_entry(token, username, app_key, state):
        cred["oauth"]["refresh_tokens"].append({"token": token, "username": username, "client": app_key, "state": state})

    def pw_grant(app_key, username, scope=None, confidential=True):
        app = apps[app_key]
        pw = next(p for n, p, _, _ in USERS if n == username)
        data = {"grant_type": "password", "username": username, "password": pw}
        if scope:
            data["scope"] = scope
        extra = basic(app.client_id, app.client_secret) if confidential else {}
        if not confidential:
            data["client_id"] = app.client_id
        return post(c, "/o/token/", data, **extra).json()

    def authorize(app_key, username, response_type, scope, pkce=None):
        app = apps[app_key]
        cl = Client()
        cl.force_login(User.objects.get(username=username))
        q = {"client_id": app.client_id, "response_type": response_type, "redirect_uri": app.redirect_uris.split()[0],
             "scope": scope, "state": "corpus-state"}
        if pkce:
            q["code_challenge"] = base64.urlsafe_b64encode(hashlib.sha256(pkce.encode()).digest()).decode().rstrip("=")
            q["code_challenge_method"] = "S256"
        r = cl.get("/o/authorize/", q)
        if r.status_code not in (200, 302):
            raise SystemExit("generate: authorize answered %d" % r.status_code)
        if r.status_code == 200:
            r = post(cl, "/o/authorize/", {**q, "allow": "Authorize"}, status=302)
        loc = urllib.parse.urlsplit(r["Location"])
        return dict(urllib.parse.parse_qsl(loc.fragment if response_type == "token" else loc.query)), q

    with long_dot():
        # Password grant (confidential client), then a rotation.
        t = pw_grant("password", "pbkdf2.user", "read write")
        clock.tick(minutes=2)
        t2 = post(c, "/o/token/", {"grant_type": "refresh_token", "refresh_token": t["refresh_token"]},
                  **basic(apps["password"].client_id, apps["password"].client_secret)).json()
        rt_entry(t["refresh_token"], "pbkdf2.user", "password", "revoked (rotated)")
        at_entry(t2["access_token"], "pbkdf2.user", "password", t2["scope"], "live")
        rt_entry(t2["refresh_token"], "pbkdf2.user", "password", "live")
        t = pw_grant("password", "zoë.ødegård", "read")
        at_entry(t["access_token"], "zoë.ødegård", "password", t["scope"], "live")
        rt_entry(t["refresh_token"], "zoë.ødegård", "password", "live")
        t = pw_grant("public-password", "admin", "read write", confidential=False)
        at_entry(t["access_token"], "admin", "public-password", t["scope"], "live")
        rt_entry(t["refresh_token"], "admin", "public-password", "live")
        # Authorization code (confidential): one redeemed, one left as a grant.
        clock.tick(minutes=2)
        got, q = authorize("web", "admin", "code", "read write groups")
        t = post(c, "/o/token/", {"grant_type": "authorization_code", "code": got["code"], "redirect_uri": q["redirect_uri"]},
                 **basic(apps["web"].client_id, apps["web"].client_secret)).json()
        at_entry(t["access_token"], "admin", "web", t["scope"], "live")
        rt_entry(t["refresh_token"], "admin", "web", "live")
        got, q = authorize("web", "staff.user", "code", "read profile")
        cred["oauth"]["grants"].append({"code": got["code"], "username": "staff.user", "client": "web",
                                        "redirect_uri": q["redirect_uri"], "scope": q["scope"], "code_verifier": None})
        # Authorization code with PKCE (public).
        clock.tick(minutes=2)
        verifier = generate_token(64)
        got, q = authorize("mobile", "bcryptsha256.user", "code", "read", pkce=verifier)
        t = post(c, "/o/token/", {"grant_type": "authorization_code", "code": got["code"], "redirect_uri": q["redirect_uri"],
                                  "client_id": apps["mobile"].client_id, "code_verifier": verifier}).json()
        at_entry(t["access_token"], "bcryptsha256.user", "mobile", t["scope"], "live")
        rt_entry(t["refresh_token"], "bcryptsha256.user", "mobile", "live")
        verifier = generate_token(64)
        got, q = authorize("mobile", "山田太郎", "code", "read write", pkce=verifier)
        cred["oauth"]["grants"].append({"code": got["code"], "username": "山田太郎", "client": "mobile",
                                        "redirect_uri": q["redirect_uri"], "scope": q["scope"], "code_verifier": verifier})
        # Client credentials: a token without a user.
        clock.tick(minutes=2)
        t = post(c, "/o/token/", {"grant_type": "client_credentials", "scope": "read"},
                 **basic(apps["service"].client_id, apps["service"].client_secret)).json()
        at_entry(t["access_token"], None, "service", t["scope"], "live (no user)")
        # Implicit: a token returned in the redirect.
        clock.tick(minutes=2)
        got, q = authorize("spa", "md5.user", "token", "read")
        at_entry(got["access_token"], "md5.user", "spa", got["scope"], "live (implicit)")
        # A token DOT's admin would create for a user without a password.
        tok = generate_token()
        DOTAccessToken.objects.create(user=users["sso.user"], application=apps["web"], token=tok,
                                      expires=timezone.now() + LONG, scope="read")
        at_entry(tok, "sso.user", "web", "read", "live")
    # With the project's own lifetime (1 hour): expired when the tests run.
    clock.tick(minutes=2)
    with dot_settings():
        t = pw_grant("password", "admin", "read")
    at_entry(t["access_token"], "admin", "password", t["scope"], "expired")
    rt_entry(t["refresh_token"], "admin", "password", "live (its access token expired)")
    # Logins through Django replace a hash that is not the first hasher's:
    # only users of that hasher log in above, so every format stays.
    for e in cred["users"]:
        u = User.objects.get(pk=e["id"])
        if e["hasher"] != "unusable" and not u.password.startswith(e["hash_prefix"]):
            raise SystemExit("generate: %s's %s hash was replaced by a login" % (u.username, e["hasher"]))
    return cred


def counts():
    return {
        "users": User.objects.count(),
        "groups": Group.objects.count(),
        "permissions": Permission.objects.count(),
        "drf_tokens": Token.objects.count(),
        "knox_tokens": KnoxToken.objects.count(),
        "simplejwt_outstanding": OutstandingToken.objects.count(),
        "simplejwt_blacklisted": BlacklistedToken.objects.count(),
        "oauth_applications": Application.objects.count(),
        "oauth_grants": Grant.objects.count(),
        "oauth_access_tokens": DOTAccessToken.objects.count(),
        "oauth_refresh_tokens": DOTRefreshToken.objects.count(),
    }


def dumpdata(path, **options):
    call_command("dumpdata", output=path, verbosity=0, **options)


def write_dumps(out):
    """Every format the tests load, from one database."""
    j = os.path.join
    dumpdata(j(out, "dump.json"))
    dumpdata(j(out, "dump-indent.json"), indent=2)
    dumpdata(j(out, "dump.jsonl"), format="jsonl")
    dumpdata(j(out, "dump-natural-foreign.json"), use_natural_foreign_keys=True)
    dumpdata(j(out, "dump-natural.json"), use_natural_foreign_keys=True, use_natural_primary_keys=True)
    dumpdata(j(out, "dump.xml"), format="xml")
    dumpdata(j(out, "dump-natural.xml"), format="xml", use_natural_foreign_keys=True, use_natural_primary_keys=True)
    dumpdata(j(out, "dump.yaml"), format="yaml")
    dumpdata(j(out, "dump-natural.yaml"), format="yaml", use_natural_foreign_keys=True, use_natural_primary_keys=True)
    with open(j(out, "dump.json"), "rb") as f:
        raw = f.read()
    # Compressed copies, byte for byte repeatable (no time stamps, no names).
    with open(j(out, "dump.json.gz"), "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as z:
            z.write(raw)
    with open(j(out, "dump.json.bz2"), "wb") as f:
        f.write(bz2.compress(raw, 9))
    with open(j(out, "dump.json.xz"), "wb") as f:
        f.write(lzma.compress(raw, format=lzma.FORMAT_XZ))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo("dump.json", date_time=(2025, 6, 2, 8, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        z.writestr(info, raw)
    with open(j(out, "dump.zip"), "wb") as f:
        f.write(buf.getvalue())
    with open(j(out, "dump-bom.json"), "wb") as f:
        f.write(b"\xef\xbb\xbf" + raw)


def write_settings(out):
    """settings.json: what settings_export.py prints in `manage.py shell`."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    with open(os.path.join(HERE, "settings_export.py"), "rb") as src:
        printed = subprocess.run([sys.executable, os.path.join(HERE, "manage.py"), "shell"], stdin=src,
                                 capture_output=True, env=env, check=True).stdout
    json.loads(printed)  # it is JSON
    with open(os.path.join(out, "settings.json"), "wb") as f:
        f.write(printed)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", help="directory for the SQLite database and the dumps")
    ap.add_argument("--database-only", action="store_true", help="fill CORPUS_DATABASE only")
    args = ap.parse_args()
    if bool(args.out) == args.database_only:
        ap.error("give --out DIR or --database-only")
    if connection.introspection.table_names():
        raise SystemExit("generate: the database already has tables; give an empty database (or a new schema)")
    call_command("migrate", interactive=False, verbosity=0)
    cred = build()
    n = counts()
    if args.database_only:
        print("generate: %s" % json.dumps(n))
        return
    with connection.cursor() as cur:
        # Small pages keep the committed file small (a page per table).
        cur.execute("PRAGMA page_size = 1024")
        cur.execute("VACUUM")
    write_dumps(args.out)
    write_settings(args.out)
    manifest = {
        "_comment": "THROWAWAY TEST CREDENTIALS of the gatehouse test corpus (testdata/django/README.md); "
                    "never use them anywhere else.",
        "generated_by": "testdata/django/regen.sh (Django %s)" % django.get_version(),
        "clock_start": iso(START),
        "secret_key": settings.SECRET_KEY,
        "counts": n,
        "hashers": hasher_parameters(),
        **cred,
    }
    with open(os.path.join(args.out, "credentials.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("generate: %s" % json.dumps(n))


def hasher_parameters():
    """The parameters each hasher of PASSWORD_HASHERS writes, by algorithm."""
    from django.contrib.auth.hashers import get_hashers

    out = {}
    for h in get_hashers():
        p = {"class": "%s.%s" % (type(h).__module__, type(h).__name__)}
        for attr in ("iterations", "rounds", "time_cost", "memory_cost", "parallelism"):
            if hasattr(h, attr):
                p[attr] = getattr(h, attr)
        out[h.algorithm] = p
    return out


if __name__ == "__main__":
    main()
