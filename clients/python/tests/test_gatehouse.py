"""gatehouse_drf against a real gatehouse.

run-tests.sh builds gatehouse and runs this module once per database
(GATEHOUSE_BIN, GATEHOUSE_TEST_DATABASE_URL: a SQLite file, or a PostgreSQL
URL naming a fresh schema). setUpModule loads users, groups and
permissions into gatehouse with its loaddata command, creates a resource
server and OAuth applications (one issuing RFC 9068 JWT access tokens)
with createapplication and DRF keys with createtoken, then starts gatehouse
servers on the same database: one signing simplejwt tokens with HS256, one
each with RS256, ES256 and EdDSA (their public keys served at
/.well-known/jwks.json). The test project's views (the reference project's
UserDetailView and UserListCreateView, and views with other permission
classes) run behind GatehouseAuthentication; where gatehouse serves the
same view (/api/me/, /api/users/), the two answers must be the
same: status, body and WWW-Authenticate."""

import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import User
from django.core.cache import caches
from django.test import TestCase, override_settings
from rest_framework.test import APIClient

BIN = os.environ.get("GATEHOUSE_BIN")
DB = os.environ.get("GATEHOUSE_TEST_DATABASE_URL")

HS_KEY = secrets.token_urlsafe(48)
KNOX = secrets.token_hex(32)
SECRET_KEY = secrets.token_urlsafe(48)
PASSWORD = {"alice": "Alice-pw-4417", "bob": "Bob-pw-5521", "carol": "Carol-pw-6633", "root": "Root-pw-7749", "dave": "Dave-pw-8812"}
USERS = [
    # pk, username, first, last, staff, superuser, groups, own permissions
    (11, "alice", "Alice", "Liddell", False, False, [["editors"]], []),
    (12, "bob", "Bob", "", False, False, [], [["view_group", "auth", "group"]]),
    (13, "carol", "", "Carol", True, False, [], []),
    (14, "root", "Root", "Admin", True, True, [], []),
    (15, "dave", "Dave", "", False, False, [], []),  # changes password (JWTRevocationTest)
]
CHALLENGE = 'Bearer realm="api"'
DENIED = {"detail": "You do not have permission to perform this action."}
UNAVAILABLE = {"detail": "Service temporarily unavailable, try again later."}

S = {}  # what setUpModule made: servers, credentials, tokens


def fixture():
    """A Django dumpdata (natural foreign keys) of the users, their group and
    permissions, with pbkdf2 hashes Django itself wrote (few iterations:
    the test logs in, it does not measure hashing)."""
    h = PBKDF2PasswordHasher()
    out = [
        {"model": "contenttypes.contenttype", "pk": 3, "fields": {"app_label": "auth", "model": "group"}},
        {"model": "contenttypes.contenttype", "pk": 4, "fields": {"app_label": "auth", "model": "user"}},
        {"model": "auth.permission", "pk": 12, "fields": {"name": "Can view group", "content_type": ["auth", "group"], "codename": "view_group"}},
        {"model": "auth.permission", "pk": 13, "fields": {"name": "Can add user", "content_type": ["auth", "user"], "codename": "add_user"}},
        {"model": "auth.permission", "pk": 14, "fields": {"name": "Can change user", "content_type": ["auth", "user"], "codename": "change_user"}},
        {"model": "auth.group", "pk": 1, "fields": {"name": "editors", "permissions": [["add_user", "auth", "user"], ["change_user", "auth", "user"]]}},
    ]
    # A django-rest-knox 5 token of alice's: knox stores the SHA-512 of the
    # token's text under its first 15 characters.
    out.append(
        {
            "model": "knox.authtoken",
            "pk": hashlib.sha512(KNOX.encode()).hexdigest(),
            "fields": {"token_key": KNOX[:15], "user": ["alice"], "created": "2026-12-01T20:00:00Z", "expiry": None},
        }
    )
    for pk, name, first, last, staff, superuser, groups, perms in USERS:
        out.append(
            {
                "model": "auth.user",
                "pk": pk,
                "fields": {
                    "password": h.encode(PASSWORD[name], h.salt(), iterations=1000),
                    "last_login": None,
                    "is_superuser": superuser,
                    "username": name,
                    "first_name": first,
                    "last_name": last,
                    "email": name + "@example.com",
                    "is_staff": staff,
                    "is_active": True,
                    "date_joined": "2026-12-01T20:00:00Z",
                    "groups": groups,
                    "user_permissions": perms,
                },
            }
        )
    return out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def gh_env(extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")}
    env.update(
        {
            "GATEHOUSE_DATABASE_URL": DB,
            "GATEHOUSE_SECRET_KEY": SECRET_KEY,
            "GATEHOUSE_JWT_SIGNING_KEY": HS_KEY,
            "GATEHOUSE_LOG_LEVEL": "warn",
            "GATEHOUSE_THROTTLE_RATES": "login=none",
            # The CLI is another process: gatehouse's servers see its
            # changes within this (as another replica's).
            "GATEHOUSE_AUTH_CACHE_TTL": "1s",
        }
    )
    env.update(extra or {})
    return env


def cli(*args):
    r = subprocess.run([BIN, *args], env=gh_env(), capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("gatehouse %s failed: %s" % (args[0], r.stderr.strip()[-2000:]))
    return r.stdout


def cli_input(*args, stdin):
    r = subprocess.run([BIN, *args], env=gh_env(), input=stdin, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("gatehouse %s failed: %s" % (args[0], r.stderr.strip()[-2000:]))
    return r.stdout


def application(*args):
    out = dict(line.split(": ", 1) for line in cli("createapplication", *args).splitlines() if line.startswith("client_"))
    return out["client_id"], out["client_secret"]


def serve(extra):
    """Starts gatehouse serve with extra settings and returns it once it
    answers, with its URL. A port found free can be taken by a server of
    the concurrent run before this one binds it, and that server's answers
    taken for this one's: a server is ready only once its own log says it
    listens, and one that could not bind is started again on another port.
    (Port 0 would give the issuer, http://ADDR, no port.)"""
    for _ in range(5):
        port = free_port()
        log = tempfile.NamedTemporaryFile()
        # The line saying it listens is logged at info.
        env = gh_env(dict({"GATEHOUSE_LOG_LEVEL": "info"}, **extra, GATEHOUSE_ADDR="127.0.0.1:%d" % port))
        p = subprocess.Popen([BIN, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
        # Stopped when the module ends, whatever happened to the tests.
        unittest.addModuleCleanup(stop, p)
        p.log = log
        url = "http://127.0.0.1:%d" % port
        if wait_ready(p, url):
            return p, url
    raise RuntimeError("gatehouse serve found no free port in five tries")


def wait_ready(p, url):
    """True once p, a gatehouse serve, listens (its log says so) and answers
    at url; False when it exited without listening (its port was taken)."""
    deadline = time.time() + 30
    while True:
        # Read through a descriptor of its own: the child writes at the
        # offset of the one it shares with p.log.
        with open(p.log.name, "rb") as f:
            out = f.read()
        if b'"gatehouse listening"' in out:
            try:
                if requests.get(url + "/healthz", timeout=1).status_code == 200:
                    return True
            except requests.RequestException:
                pass
        elif p.poll() is not None and b"address already in use" in out:
            return False
        if p.poll() is not None or time.time() > deadline:
            raise RuntimeError("gatehouse serve did not start: " + out.decode(errors="replace")[-2000:])
        time.sleep(0.05)


def setUpModule():
    if not BIN or not DB:
        raise unittest.SkipTest("GATEHOUSE_BIN and GATEHOUSE_TEST_DATABASE_URL unset: run clients/python/run-tests.sh")
    work = tempfile.mkdtemp(prefix="gatehouse-drf-")
    unittest.addModuleCleanup(shutil.rmtree, work, ignore_errors=True)
    path = os.path.join(work, "fixture.json")
    with open(path, "w") as f:
        json.dump(fixture(), f)
    cli("migrate")
    cli("loaddata", path)
    S["api"] = application("--name", "django-api", "--grant-types", "client-credentials", "--resource-server")
    S["app"] = application("--name", "mobile", "--grant-types", "password,client-credentials")
    # Its access tokens are RFC 9068 JWTs (typ at+jwt), signed with the keys
    # of gatehouse's JWKS.
    S["jwtapp"] = application("--name", "mobile-jwt", "--grant-types", "password,client-credentials", "--access-token-format", "jwt")
    S["keys"] = {name: cli("createtoken", name).strip() for name in ("alice", "bob", "carol", "root")}

    p, S["hs"] = serve({})
    S["procs"] = [p]
    keys = {
        "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ES256": ec.generate_private_key(ec.SECP256R1()),
        "EdDSA": ed25519.Ed25519PrivateKey.generate(),
    }
    S["rsa"] = keys["RS256"]
    S["asym"] = {}  # algorithm -> URL of the gatehouse signing with it
    for alg, key in keys.items():
        pem = os.path.join(work, alg + ".pem")
        with open(pem, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        os.chmod(pem, 0o600)
        p, url = serve({"GATEHOUSE_JWT_ALGORITHM": alg, "GATEHOUSE_JWT_PRIVATE_KEY_FILE": pem, "GATEHOUSE_JWT_KEY_ID": "k1"})
        S["procs"].append(p)
        S["asym"][alg] = url
    S["rs"] = S["asym"]["RS256"]

    def login(url, who):
        r = requests.post(url + "/access-token/", json={"username": who, "password": PASSWORD[who]}, timeout=10)
        r.raise_for_status()
        return r.json()

    def oauth(body):
        r = requests.post(S["hs"] + "/o/token/", data=body, auth=S["app"], timeout=10)
        r.raise_for_status()
        return r.json()["access_token"]

    S["jwt"] = {who: login(S["hs"], who) for who in ("alice", "carol")}
    S["asym_jwt"] = {alg: login(url, "alice") for alg, url in S["asym"].items()}
    S["rs_jwt"] = S["asym_jwt"]["RS256"]
    S["oauth"] = {
        scope: oauth({"grant_type": "password", "username": "alice", "password": PASSWORD["alice"], "scope": scope})
        for scope in ("read", "write", "read write")
    }
    S["cc"] = oauth({"grant_type": "client_credentials", "scope": "read"})


def stop(p):
    """Stops a gatehouse serve process (SIGTERM, then SIGKILL)."""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def gd(**extra):
    """The GATEHOUSE_DRF setting for the HS256 gatehouse."""
    return dict({"URL": S["hs"], "CLIENT_ID": S["api"][0], "CLIENT_SECRET": S["api"][1], "SIGNING_KEY": HS_KEY, "CACHE_TTL": 30}, **extra)


class GatehouseCase(TestCase):
    """The Django database holds the same users as gatehouse (a project
    whose users were imported into gatehouse keeps its rows)."""

    @classmethod
    def setUpTestData(cls):
        for pk, name, first, last, staff, superuser, _, _ in USERS:
            User.objects.create(id=pk, username=name, first_name=first, last_name=last, email=name + "@example.com", is_staff=staff, is_superuser=superuser)

    def setUp(self):
        caches["default"].clear()
        self.api = APIClient()

    def ours(self, path, header, method="get"):
        kw = {"HTTP_AUTHORIZATION": header} if header is not None else {}
        r = getattr(self.api, method)(path, **kw)
        return r.status_code, json.loads(r.content), r.get("WWW-Authenticate")

    @staticmethod
    def theirs(path, header, url=None):
        r = requests.get((url or S["hs"]) + path, headers={"Authorization": header} if header is not None else {}, timeout=10)
        return r.status_code, r.json(), r.headers.get("WWW-Authenticate")


def forge(claims, key=None, alg="HS256", kid=None):
    now = int(time.time())
    body = {"token_type": "access", "exp": now + 300, "iat": now, "jti": secrets.token_hex(16), "user_id": 11}
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, key or HS_KEY, algorithm=alg, headers={"kid": kid} if kid else None)


class SameAnswersTest(GatehouseCase):
    """The reference views answer as gatehouse's own do."""

    def credentials(self):
        out = {
            "DRF key": ("Token " + S["keys"]["alice"], None),
            "knox token": ("Token " + KNOX, None),
            "HS256 JWT": ("Bearer " + S["jwt"]["alice"]["access"], None),
            "OAuth token": ("Bearer " + S["oauth"]["read write"], None),
        }
        for alg, url in S["asym"].items():
            out[alg + " JWT"] = ("Bearer " + S["asym_jwt"][alg]["access"], url)
        return out

    @staticmethod
    def settings_for(url, **extra):
        for alg, u in S["asym"].items():
            if url == u:
                return gd(URL=url, JWT_ALGORITHM=alg, SIGNING_KEY=None, **extra)
        return gd(**extra)

    def check_me(self, user):
        for name, (header, url) in self.credentials().items():
            with self.subTest(name, user=user):
                with override_settings(GATEHOUSE_DRF=self.settings_for(url, USER=user)):
                    want = (200, {"id": 11, "first_name": "Alice", "last_name": "Liddell", "email": "alice@example.com", "username": "alice"}, None)
                    self.assertEqual(self.theirs("/api/me/", header, url), want)
                    self.assertEqual(self.ours("/api/me/", header), want)

    def test_api_me_remote_user(self):
        self.check_me("remote")

    def test_api_me_local_user(self):
        self.check_me("local")

    def test_api_users(self):
        for name, (header, url) in self.credentials().items():
            with self.subTest(name), override_settings(GATEHOUSE_DRF=self.settings_for(url)):
                ours = self.ours("/api/users/", header)
                self.assertEqual(ours[0], 200)
                self.assertEqual(ours, self.theirs("/api/users/", header, url))
                self.assertEqual([u["username"] for u in ours[1]["results"]], ["alice", "bob", "carol", "root", "dave"])
        with override_settings(GATEHOUSE_DRF=gd()):
            for q in ("?username=bob", "?email=carol@example.com"):
                self.assertEqual(self.ours("/api/users/" + q, "Token " + S["keys"]["alice"]), self.theirs("/api/users/" + q, "Token " + S["keys"]["alice"]))

    def test_api_users_create(self):
        """POST /api/users/ (IsAuthenticated): refused and invalid requests
        answered as gatehouse answers them; a valid one creates the user
        here, with DRF's 201 body."""
        key = "Token " + S["keys"]["alice"]
        with override_settings(GATEHOUSE_DRF=gd()):
            for name, header, body in (
                ("anonymous", None, {"username": "erin", "password": "Erin-pw-1234"}),
                ("bad key", "Token nope", {"username": "erin", "password": "Erin-pw-1234"}),
                ("missing fields", key, {}),
                ("taken username", key, {"username": "bob", "password": "Erin-pw-1234"}),
            ):
                with self.subTest(name):
                    kw = {"HTTP_AUTHORIZATION": header} if header else {}
                    r = self.api.post("/api/users/", body, format="json", **kw)
                    theirs = requests.post(S["hs"] + "/api/users/", json=body, headers={"Authorization": header} if header else {}, timeout=10)
                    self.assertIn(theirs.status_code, (400, 401))
                    self.assertEqual(
                        (r.status_code, json.loads(r.content), r.get("WWW-Authenticate")),
                        (theirs.status_code, theirs.json(), theirs.headers.get("WWW-Authenticate")),
                    )
            r = self.api.post("/api/users/", {"username": "erin", "password": "Erin-pw-1234", "email": "erin@example.com"}, format="json", HTTP_AUTHORIZATION=key)
            erin = User.objects.get(username="erin")
            self.assertEqual((r.status_code, json.loads(r.content)), (201, {"id": erin.id, "username": "erin", "email": "erin@example.com", "first_name": "", "last_name": ""}))

    def test_edge_credentials_as_gatehouse(self):
        """Refusals, and the odd credentials gatehouse accepts: the same
        status, body and challenge here, under both user modes."""
        now = int(time.time())
        cases = {
            "none": (None, 401),
            "Token alone": ("Token", 401),
            "Token with spaces": ("Token a b", 401),
            "unknown key": ("Token 0123456789abcdef0123456789abcdef01234567", 401),
            "OAuth token as Token": ("Token " + S["oauth"]["read"], 401),
            "JWT as Token": ("Token " + S["jwt"]["alice"]["access"], 401),
            "Bearer alone": ("Bearer", 401),
            "Bearer with spaces": ("Bearer a b", 401),
            "malformed JWT": ("Bearer a.b.c", 401),
            "unknown opaque bearer": ("Bearer NoSuchTokenAtAll0123456789", 401),
            "DRF key as Bearer": ("Bearer " + S["keys"]["alice"], 401),
            "lower-case bearer, unknown": ("bearer NoSuchTokenAtAll0123456789", 401),
            "lower-case bearer, valid JWT": ("bearer " + S["jwt"]["alice"]["access"], 401),
            "lower-case bearer, valid OAuth token": ("bearer " + S["oauth"]["read"], 200),
            "TOKEN keyword, valid key": ("TOKEN " + S["keys"]["alice"], 200),
            "refresh token as access": ("Bearer " + S["jwt"]["alice"]["refresh"], 401),
            "expired JWT": ("Bearer " + forge({"exp": now - 60, "iat": now - 400}), 401),
            "JWT of another key": ("Bearer " + forge({}, key=secrets.token_urlsafe(48)), 401),
            "JWT without user": ("Bearer " + forge({"user_id": None}), 401),
            "JWT without exp": ("Bearer " + forge({"exp": None}), 401),
            "JWT not yet valid": ("Bearer " + forge({"nbf": now + 600}), 401),
            "JWT with an audience": ("Bearer " + forge({"aud": "elsewhere"}), 401),
            "JWT of an unknown user": ("Bearer " + forge({"user_id": 999}), 401),
            "JWT signed HS512": ("Bearer " + forge({}, alg="HS512"), 401),
            "client_credentials token": ("Bearer " + S["cc"], 403),
            "Basic": ("Basic YWxpY2U6cHc=", 401),
            "JWT without jti": ("Bearer " + forge({"jti": None}), 401),
            "JWT without jti, expired": ("Bearer " + forge({"jti": None, "exp": now - 60, "iat": now - 400}), 401),
            "JWT with a string user id": ("Bearer " + forge({"user_id": "11"}), 200),
        }
        for user in ("remote", "local"):
            with override_settings(GATEHOUSE_DRF=gd(USER=user)):
                for name, (header, status) in cases.items():
                    with self.subTest(name, user=user):
                        caches["default"].clear()
                        theirs = self.theirs("/api/me/", header)
                        self.assertEqual(theirs[0], status)
                        self.assertEqual(self.ours("/api/me/", header), theirs)

    def test_expired_rs256_jwt(self):
        now = int(time.time())
        header = "Bearer " + forge({"exp": now - 60, "iat": now - 400}, key=S["rsa"], alg="RS256", kid="k1")
        with override_settings(GATEHOUSE_DRF=gd(URL=S["rs"], JWT_ALGORITHM="RS256", SIGNING_KEY=None)):
            theirs = self.theirs("/api/me/", header, S["rs"])
            self.assertEqual(theirs[0], 401)
            self.assertEqual(self.ours("/api/me/", header), theirs)


class PermissionTest(GatehouseCase):
    def test_permission_classes(self):
        k = S["keys"]
        o = S["oauth"]
        cases = [
            ("/staff/", "Token " + k["alice"], "get", 403, DENIED),
            ("/staff/", "Token " + k["carol"], "get", 200, {"ok": True}),
            ("/staff/", "Bearer " + S["jwt"]["carol"]["access"], "get", 200, {"ok": True}),
            ("/staff/", "Bearer " + S["jwt"]["alice"]["access"], "get", 403, DENIED),
            ("/perm/", "Token " + k["alice"], "get", 200, {"has_perm": True, "module": True}),
            ("/perm/", "Token " + k["bob"], "get", 200, {"has_perm": False, "module": True}),
            ("/perm/", "Token " + k["carol"], "get", 200, {"has_perm": False, "module": False}),
            ("/perm/", "Token " + k["root"], "get", 200, {"has_perm": True, "module": True}),
            ("/perm/", "Bearer " + S["jwt"]["alice"]["access"], "get", 200, {"has_perm": True, "module": True}),
            ("/scope-read/", "Bearer " + o["read"], "get", 200, {"ok": True}),
            ("/scope-read/", "Bearer " + o["write"], "get", 403, DENIED),
            ("/scope-read/", "Bearer " + S["cc"], "get", 200, {"ok": True}),
            ("/scope-read/", "Token " + k["alice"], "get", 403, DENIED),
            ("/scope-read/", "Bearer " + S["jwt"]["alice"]["access"], "get", 403, DENIED),
            ("/read-write/", "Bearer " + o["read"], "post", 403, DENIED),
            ("/read-write/", "Bearer " + o["read write"], "post", 200, {"ok": "write"}),
            ("/either/", "Token " + k["bob"], "get", 200, {"ok": True}),
            ("/either/", "Bearer " + o["read"], "get", 403, DENIED),
            ("/either/", "Bearer " + o["write"], "get", 200, {"ok": True}),
        ]
        with override_settings(GATEHOUSE_DRF=gd()):
            for path, header, method, status, body in cases:
                with self.subTest(path=path, header=header[:12], method=method):
                    self.assertEqual(self.ours(path, header, method)[:2], (status, body))

    def test_whoami(self):
        with override_settings(GATEHOUSE_DRF=gd()):
            got = self.ours("/whoami/", "Bearer " + S["oauth"]["read write"])
            kinds = [self.ours("/whoami/", h)[1]["kind"] for h in ("Token " + S["keys"]["alice"], "Token " + KNOX, "Bearer " + S["jwt"]["alice"]["access"])]
        self.assertEqual(kinds, ["token", "knox", "jwt"])
        self.assertEqual(
            got,
            (
                200,
                {
                    "id": 11,
                    "pk": 11,
                    "username": "alice",
                    "email": "alice@example.com",
                    "is_staff": False,
                    "is_superuser": False,
                    "groups": ["editors"],
                    "permissions": ["auth.add_user", "auth.change_user"],
                    "kind": "oauth",
                    "scopes": ["read", "write"],
                    "client_id": S["app"][0],
                },
                None,
            ),
        )


class RevocationTest(GatehouseCase):
    TTL = 2

    def test_revoked_oauth_token_refused_within_ttl(self):
        tok = requests.post(S["hs"] + "/o/token/", data={"grant_type": "password", "username": "bob", "password": PASSWORD["bob"], "scope": "read"}, auth=S["app"], timeout=10).json()["access_token"]
        with override_settings(GATEHOUSE_DRF=gd(CACHE_TTL=self.TTL)):
            t0 = time.time()
            self.assertEqual(self.ours("/api/me/", "Bearer " + tok)[0], 200)
            # The answer is cached from when it came back, not from t0: on a
            # busy machine the first call may take a while.
            cached = time.time()
            r = requests.post(S["hs"] + "/o/revoke_token/", data={"token": tok}, auth=S["app"], timeout=10)
            self.assertEqual(r.status_code, 200)
            if time.time() - t0 < self.TTL - 0.5:
                self.assertEqual(self.ours("/api/me/", "Bearer " + tok)[0], 200)  # cached: within the bound
            time.sleep(max(0, cached + self.TTL + 0.2 - time.time()))
            self.assertEqual(self.ours("/api/me/", "Bearer " + tok), self.theirs("/api/me/", "Bearer " + tok))
            self.assertEqual(self.ours("/api/me/", "Bearer " + tok)[0], 401)

    def test_logged_out_drf_key_refused_within_ttl(self):
        key = cli("createtoken", "bob", "--name", "logout-test").strip()
        with override_settings(GATEHOUSE_DRF=gd(CACHE_TTL=1)):
            self.assertEqual(self.ours("/api/me/", "Token " + key)[0], 200)
            cached = time.time()  # the answer is cached from when it came back
            r = requests.post(S["hs"] + "/api/tokens/logout/", headers={"Authorization": "Token " + key}, timeout=10)
            self.assertEqual(r.status_code, 204)
            time.sleep(max(0, cached + 1 + 0.2 - time.time()))
            self.assertEqual(self.ours("/api/me/", "Token " + key), (401, {"detail": "Invalid token."}, CHALLENGE))


def jwt_oauth(url, body):
    """An access token of the application whose tokens are RFC 9068 JWTs."""
    r = requests.post(url + "/o/token/", data=body, auth=S["jwtapp"], timeout=10)
    r.raise_for_status()
    tok = r.json()["access_token"]
    header = jwt.get_unverified_header(tok)
    assert header["typ"] == "at+jwt", header
    return tok


class OAuthJWTTest(GatehouseCase):
    """RFC 9068 JWT access tokens (typ at+jwt) of an application created
    with --access-token-format jwt: OAuth tokens, introspected as an opaque
    one is, so that a revocation is seen within CACHE_TTL."""

    TTL = 2

    def password(self, url, who="alice", scope="read write"):
        return jwt_oauth(url, {"grant_type": "password", "username": who, "password": PASSWORD[who], "scope": scope})

    def test_authenticates(self):
        tok = self.password(S["hs"])
        header = "Bearer " + tok
        with override_settings(GATEHOUSE_DRF=gd()):
            got = self.ours("/whoami/", header)
            self.assertEqual(got[0], 200)
            self.assertEqual(
                {k: got[1][k] for k in ("id", "username", "kind", "scopes", "client_id")},
                {"id": 11, "username": "alice", "kind": "oauth", "scopes": ["read", "write"], "client_id": S["jwtapp"][0]},
            )
            self.assertEqual(self.ours("/whoami/", "bearer " + tok)[0], 200)
            self.assertEqual(self.ours("/read-write/", header, "post")[:2], (200, {"ok": "write"}))
            self.assertEqual(self.ours("/scope-read/", "Bearer " + self.password(S["hs"], scope="write"))[:2], (403, DENIED))
        for user in ("remote", "local"):
            with self.subTest(user=user), override_settings(GATEHOUSE_DRF=gd(USER=user)):
                caches["default"].clear()
                theirs = self.theirs("/api/me/", header)
                self.assertEqual(theirs[0], 200)
                self.assertEqual(self.ours("/api/me/", header), theirs)

    def test_client_credentials(self):
        tok = jwt_oauth(S["hs"], {"grant_type": "client_credentials", "scope": "read"})
        with override_settings(GATEHOUSE_DRF=gd()):
            self.assertEqual(self.ours("/whoami/", "Bearer " + tok)[:2], (403, DENIED))
            self.assertEqual(self.ours("/scope-read/", "Bearer " + tok)[:2], (200, {"ok": True}))

    def test_rs256_gatehouse(self):
        # Where simplejwt tokens are verified with the JWKS (which also
        # serves the key of the at+jwt tokens), an at+jwt token is still an
        # OAuth token, judged by introspection, and refused as gatehouse
        # refuses it once revoked.
        tok = self.password(S["rs"], who="bob", scope="read")
        header = "Bearer " + tok
        with override_settings(GATEHOUSE_DRF=gd(URL=S["rs"], JWT_ALGORITHM="RS256", SIGNING_KEY=None)):
            got = self.ours("/whoami/", header)
            self.assertEqual((got[0], got[1]["username"], got[1]["kind"], got[1]["scopes"]), (200, "bob", "oauth", ["read"]))
            r = requests.post(S["rs"] + "/o/revoke_token/", data={"token": tok}, auth=S["jwtapp"], timeout=10)
            self.assertEqual(r.status_code, 200)
            caches["default"].clear()
            theirs = self.theirs("/api/me/", header, S["rs"])
            self.assertEqual(theirs[0], 401)
            self.assertEqual(self.ours("/api/me/", header), theirs)

    def test_revoked_refused_within_ttl(self):
        tok = self.password(S["hs"], who="bob", scope="read")
        header = "Bearer " + tok
        with override_settings(GATEHOUSE_DRF=gd(CACHE_TTL=self.TTL)):
            t0 = time.time()
            self.assertEqual(self.ours("/api/me/", header)[0], 200)
            cached = time.time()  # the answer is cached from when it came back
            r = requests.post(S["hs"] + "/o/revoke_token/", data={"token": tok}, auth=S["jwtapp"], timeout=10)
            self.assertEqual(r.status_code, 200)
            if time.time() - t0 < self.TTL - 0.5:
                self.assertEqual(self.ours("/api/me/", header)[0], 200)  # cached: within the bound
            time.sleep(max(0, cached + self.TTL + 0.2 - time.time()))
            theirs = self.theirs("/api/me/", header)
            self.assertEqual(theirs[0], 401)
            self.assertEqual(self.ours("/api/me/", header), theirs)
            caches["default"].clear()
            self.assertEqual(self.ours("/api/me/", "bearer " + tok), self.theirs("/api/me/", "bearer " + tok))


class JWTRevocationTest(GatehouseCase):
    """A password change ends the user's JWTs at gatehouse: verified here
    locally, one still works until it expires (the documented bound);
    with JWT_VERIFY "introspect" it is refused within CACHE_TTL."""

    def test_password_change(self):
        access = requests.post(S["hs"] + "/access-token/", json={"username": "dave", "password": PASSWORD["dave"]}, timeout=10).json()["access"]
        header = "Bearer " + access
        local, remote = gd(CACHE_TTL=1), gd(CACHE_TTL=1, JWT_VERIFY="introspect")
        for s in (local, remote):
            with override_settings(GATEHOUSE_DRF=s):
                self.assertEqual(self.ours("/either/", header)[0], 200)
        t0 = time.time()
        cli_input("changepassword", "dave", "--password-stdin", stdin="Dave-pw-9923\n")
        # Refused within gatehouse's cache bound (1 s, the CLI being another
        # process) plus CACHE_TTL.
        time.sleep(max(0, t0 + 2.2 - time.time()))
        with override_settings(GATEHOUSE_DRF=local):
            self.assertEqual(self.ours("/either/", header), (200, {"ok": True}, None))
        with override_settings(GATEHOUSE_DRF=remote):
            theirs = self.theirs("/api/me/", header)
            self.assertEqual(theirs[0], 401)
            self.assertEqual(self.ours("/either/", header), theirs)


class UnavailableTest(GatehouseCase):
    def test_gatehouse_stopped(self):
        p, url = serve({})
        header = "Token " + S["keys"]["alice"]
        with override_settings(GATEHOUSE_DRF=gd(URL=url, TIMEOUT=1)):
            self.assertEqual(self.ours("/whoami/", header)[0], 200)
            stop(p)
            caches["default"].clear()
            self.assertEqual(self.ours("/whoami/", header), (503, UNAVAILABLE, None))
            self.assertEqual(self.ours("/either/", "Bearer " + S["oauth"]["write"]), (503, UNAVAILABLE, None))

    def test_gatehouse_down(self):
        with override_settings(GATEHOUSE_DRF=gd(URL="http://127.0.0.1:%d" % free_port(), TIMEOUT=1)):
            for header in ("Token " + S["keys"]["alice"], "Bearer " + S["oauth"]["read"]):
                with self.subTest(header[:6]):
                    self.assertEqual(self.ours("/api/me/", header), (503, UNAVAILABLE, None))

    def test_wrong_client_secret(self):
        with override_settings(GATEHOUSE_DRF=gd(CLIENT_SECRET="not-the-secret")):
            self.assertEqual(self.ours("/api/me/", "Token " + S["keys"]["alice"]), (503, UNAVAILABLE, None))

    def test_client_not_a_resource_server(self):
        # A client created without --resource-server gets DOT's plain answers:
        # its own OAuth tokens without token_kind, refused as a
        # misconfiguration (503, logged), never guessed.
        with override_settings(GATEHOUSE_DRF=gd(CLIENT_ID=S["app"][0], CLIENT_SECRET=S["app"][1])):
            self.assertEqual(self.ours("/api/me/", "Bearer " + S["oauth"]["read"]), (503, UNAVAILABLE, None))
