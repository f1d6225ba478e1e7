"""gatehouse_drf against a fake gatehouse (fakegatehouse.py): every token
kind (RFC 9068 JWT access tokens included), gatehouse's refusal bodies and
challenges, the permission classes, the cache and its bounds, the JWKS and
its refetch limit, gatehouse unreachable, the local user mode and the
settings' checks."""

import base64
import json
import socket
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.apps import apps
from django.contrib.auth.models import Permission, User
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.test import SimpleTestCase, TestCase, override_settings
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from clockcache import Clock, ClockCache
from fakegatehouse import FakeGatehouse
from gatehouse_drf import conf
from gatehouse_drf.authentication import is_jwt_access_token
from gatehouse_drf.client import get_client
from gatehouse_drf.permissions import TokenHasReadWriteScope, TokenHasScope
from gatehouse_drf.user import GatehouseToken

HS_KEY = "shared-hmac-key-of-at-least-32-bytes-0123456789"
CHALLENGE = 'Bearer realm="api"'
CHALLENGE_INVALID = CHALLENGE + ',error="invalid_token",error_description="The access token is invalid."'
NOT_PROVIDED = {"detail": "Authentication credentials were not provided."}
DENIED = {"detail": "You do not have permission to perform this action."}
UNAVAILABLE = {"detail": "Service temporarily unavailable, try again later."}


def jwt_invalid(message="Token is invalid or expired"):
    return {
        "detail": "Given token not valid for any token type",
        "code": "token_not_valid",
        "messages": [{"token_class": "AccessToken", "token_type": "access", "message": message}],
    }


def make_jwt(key=HS_KEY, alg="HS256", kid=None, **claims):
    now = int(time.time())
    body = {"token_type": "access", "exp": now + 300, "iat": now, "jti": "j1", "user_id": 7}
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid} if kid else None)


def refusing_port():
    """A socket bound to a port that never listens: connections to it are
    refused for as long as it is held open, and no other process can take the
    port meanwhile (a port merely closed again could be, by any server the
    test suite starts at the same time)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s


ALICE = {
    "active": True,
    "token_type": "Token",
    "token_kind": "token",
    "iat": 1700000000,
    "sub": "7",
    "user_id": 7,
    "username": "alice",
    "email": "alice@example.com",
    "is_staff": False,
    "is_superuser": False,
    "groups": ["editors"],
    "permissions": ["auth.add_user", "auth.change_user"],
}


def oauth_answer(scope, user=True, exp_in=3600):
    a = {"active": True, "token_type": "Bearer", "token_kind": "oauth", "scope": scope, "client_id": "app1", "iat": 1700000000, "exp": int(time.time()) + exp_in}
    if user:
        a.update({k: ALICE[k] for k in ("sub", "user_id", "username", "email", "is_staff", "is_superuser", "groups", "permissions")})
    return a


class FakeCase(SimpleTestCase):
    """Each test starts with an empty cache and a fresh client configured
    for the fake gatehouse."""

    extra = {}

    @classmethod
    def setUpClass(cls):
        cls.fake = FakeGatehouse()
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.fake.close()

    def setUp(self):
        self.fake.reset()
        caches["default"].clear()
        gd = {"URL": self.fake.url, "CLIENT_ID": "api", "CLIENT_SECRET": "s3cret", "SIGNING_KEY": HS_KEY}
        gd.update(self.extra)
        o = override_settings(GATEHOUSE_DRF=gd)
        o.enable()
        self.addCleanup(o.disable)
        self.api = APIClient()

    def get(self, path, auth=None, method="get"):
        kw = {"HTTP_AUTHORIZATION": auth} if auth is not None else {}
        return getattr(self.api, method)(path, **kw)

    def assertAnswer(self, r, status, body, challenge=None):
        self.assertEqual((r.status_code, json.loads(r.content)), (status, body))
        self.assertEqual(r.get("WWW-Authenticate"), challenge)


class TokenKindsTest(FakeCase):
    def test_drf_key(self):
        self.fake.answers["k1"] = ALICE
        r = self.get("/whoami/", "Token k1")
        self.assertAnswer(
            r,
            200,
            {
                "id": 7,
                "pk": 7,
                "username": "alice",
                "email": "alice@example.com",
                "is_staff": False,
                "is_superuser": False,
                "groups": ["editors"],
                "permissions": ["auth.add_user", "auth.change_user"],
                "kind": "token",
                "scopes": [],
                "client_id": "",
            },
        )
        # The keyword in any case, as DRF's TokenAuthentication.
        self.assertEqual(self.get("/whoami/", "token k1").status_code, 200)

    def test_client_secret_form_urlencoded(self):
        secret = "s3:cr+t %/é"
        self.fake.client = ("api:1", secret)
        self.fake.answers["k1"] = ALICE
        with self.settings(GATEHOUSE_DRF={"URL": self.fake.url, "CLIENT_ID": "api:1", "CLIENT_SECRET": secret}):
            self.assertEqual(self.get("/whoami/", "Token k1").status_code, 200)

    def test_knox_token(self):
        self.fake.answers["knox1"] = dict(ALICE, token_kind="knox", exp=int(time.time()) + 60)
        self.assertEqual(json.loads(self.get("/whoami/", "Token knox1").content)["kind"], "knox")

    def test_oauth_token(self):
        self.fake.answers["o1"] = oauth_answer("read write")
        r = self.get("/whoami/", "Bearer o1")
        body = json.loads(r.content)
        self.assertEqual((r.status_code, body["username"], body["kind"], body["scopes"], body["client_id"]), (200, "alice", "oauth", ["read", "write"], "app1"))
        self.assertEqual(self.get("/whoami/", "bearer o1").status_code, 200)

    def test_client_credentials_token_has_no_user(self):
        # DOT: request.user is None, so IsAuthenticated answers 403, not 401.
        self.fake.answers["cc"] = oauth_answer("read", user=False)
        self.assertAnswer(self.get("/whoami/", "Bearer cc"), 403, DENIED)
        self.assertAnswer(self.get("/scope-read/", "Bearer cc"), 200, {"ok": True})

    def test_jwt_verified_locally_identity_fetched_once(self):
        tok = make_jwt()
        self.fake.answers[tok] = dict(ALICE, token_type="Bearer", token_kind="jwt", exp=int(time.time()) + 300)
        # IsAuthenticated needs no call to gatehouse.
        self.assertAnswer(self.get("/either/", "Bearer " + tok), 200, {"ok": True})
        self.assertEqual(self.fake.calls, [])
        # Reading the username introspects the JWT once; the answer is cached.
        for _ in range(2):
            body = json.loads(self.get("/whoami/", "Bearer " + tok).content)
            self.assertEqual((body["id"], body["username"], body["kind"], body["groups"]), (7, "alice", "jwt", ["editors"]))
        self.assertEqual(self.fake.count("/o/introspect/"), 1)

    def test_jwt_claims_carry_groups_and_permissions(self):
        with self.settings(GATEHOUSE_DRF={"URL": self.fake.url, "CLIENT_ID": "api", "CLIENT_SECRET": "s3cret", "SIGNING_KEY": HS_KEY, "GROUPS_CLAIM": "groups", "PERMISSIONS_CLAIM": "perms"}):
            tok = make_jwt(groups=["g1"], perms=["auth.change_user"])
            # The claims win over the introspection answer, which only adds
            # what the token does not say.
            self.fake.answers[tok] = dict(ALICE, token_type="Bearer", token_kind="jwt", permissions=[])
            self.assertAnswer(self.get("/perm/", "Bearer " + tok), 200, {"has_perm": True, "module": True})
            # is_superuser is not in the token: has_perm asked introspection first.
            self.assertEqual(self.fake.count("/o/introspect/"), 1)

    def test_jwt_revoked_since_issue_refused_when_identity_is_read(self):
        # gatehouse answers inactive (the user was deleted): the refusal is
        # gatehouse's own, as its /api/me/ words it.
        tok = make_jwt()
        self.fake.me_refusal = {"detail": "User not found", "code": "user_not_found"}
        self.assertAnswer(self.get("/whoami/", "Bearer " + tok), 401, {"detail": "User not found", "code": "user_not_found"}, CHALLENGE_INVALID)
        self.assertEqual((self.fake.count("/o/introspect/"), self.fake.count("/api/me/")), (1, 1))
        # /api/me/ accepting it after all (a race): the generic refusal.
        self.fake.profiles["Bearer " + tok] = {"id": 7, "first_name": "", "last_name": "", "email": "", "username": "alice"}
        caches["default"].clear()
        self.assertAnswer(self.get("/whoami/", "Bearer " + tok), 401, jwt_invalid(), CHALLENGE_INVALID)

    def test_profile_refused_by_gatehouse(self):
        # An OAuth token gatehouse's /api/me/ refuses for want of a scope.
        self.fake.answers["o1"] = oauth_answer("write")
        self.fake.status["/api/me/"] = 403
        r = self.get("/api/me/", "Bearer o1")
        self.assertEqual((r.status_code, json.loads(r.content)), (403, {"detail": "down"}))

    def test_remote_user_profile_from_api_me(self):
        self.fake.answers["k1"] = ALICE
        self.fake.profiles["Token k1"] = {"id": 7, "first_name": "Alice", "last_name": "Liddell", "email": "alice@example.com", "username": "alice"}
        r = self.get("/api/me/", "Token k1")
        self.assertAnswer(r, 200, {"id": 7, "first_name": "Alice", "last_name": "Liddell", "email": "alice@example.com", "username": "alice"})
        self.get("/api/me/", "Token k1")
        self.assertEqual(self.fake.count("/api/me/"), 1)


class RefusalTest(FakeCase):
    """Every refusal as gatehouse's views answer it: status, body and
    WWW-Authenticate."""

    def test_refusals(self):
        self.fake.answers["drfkey"] = ALICE
        self.fake.answers["oauthtok"] = oauth_answer("read")
        now = int(time.time())
        cases = [
            ("no header", None, 401, NOT_PROVIDED, CHALLENGE),
            ("other scheme", "Basic YWxpY2U6cHc=", 401, NOT_PROVIDED, CHALLENGE),
            ("Token alone", "Token", 401, {"detail": "Invalid token header. No credentials provided."}, CHALLENGE),
            ("Token with spaces", "Token a b", 401, {"detail": "Invalid token header. Token string should not contain spaces."}, CHALLENGE),
            ("unknown key", "Token nope", 401, {"detail": "Invalid token."}, CHALLENGE),
            ("oauth token as Token", "Token oauthtok", 401, {"detail": "Invalid token."}, CHALLENGE),
            ("jwt as Token", "Token " + make_jwt(), 401, {"detail": "Invalid token."}, CHALLENGE),
            ("overlong key", "Token " + "k" * 600, 401, {"detail": "Invalid token."}, CHALLENGE),
            ("control character", "Token ab\x01cd", 401, {"detail": "Invalid token."}, CHALLENGE),
            ("no-break space is no separator", "Token\xa0k1", 401, NOT_PROVIDED, CHALLENGE),
            # A key that is no UTF-8 (a lone 0x85, 0xE9): DRF's words, as
            # gatehouse's views say them (found by a proxy pass).
            ("NEL inside a key", "Token k\x851", 401, {"detail": "Invalid token header. Token string should not contain invalid characters."}, CHALLENGE),
            ("latin-1 key", "Token caf\xe9", 401, {"detail": "Invalid token header. Token string should not contain invalid characters."}, CHALLENGE),
            ("UTF-8 key, unknown", "Token caf\xc3\xa9", 401, {"detail": "Invalid token."}, CHALLENGE),
            ("Bearer alone", "Bearer", 401, {"detail": "Authorization header must contain two space-delimited values", "code": "bad_authorization_header"}, CHALLENGE),
            ("Bearer with spaces", "Bearer a b", 401, {"detail": "Authorization header must contain two space-delimited values", "code": "bad_authorization_header"}, CHALLENGE),
            ("unknown opaque bearer", "Bearer nope", 401, jwt_invalid(), CHALLENGE_INVALID),
            ("DRF key as Bearer", "Bearer drfkey", 401, jwt_invalid(), CHALLENGE_INVALID),
            ("lower-case bearer, unknown", "bearer nope", 401, NOT_PROVIDED, CHALLENGE_INVALID),
            ("lower-case bearer, jwt", "bearer " + make_jwt(), 401, NOT_PROVIDED, CHALLENGE_INVALID),
            ("malformed jwt", "Bearer a.b.c", 401, jwt_invalid(), CHALLENGE_INVALID),
            ("wrong signature", "Bearer " + make_jwt(key="another-key-of-at-least-32-bytes-000000"), 401, jwt_invalid(), CHALLENGE_INVALID),
            ("expired", "Bearer " + make_jwt(exp=now - 10, iat=now - 310), 401, jwt_invalid(), CHALLENGE_INVALID),
            ("no exp", "Bearer " + make_jwt(exp=None), 401, jwt_invalid("Token has no 'exp' claim"), CHALLENGE_INVALID),
            ("alg none", "Bearer " + jwt.encode({"token_type": "access", "user_id": 7, "exp": now + 60}, None, algorithm="none"), 401, jwt_invalid(), CHALLENGE_INVALID),
            ("audience where none is set", "Bearer " + make_jwt(aud="elsewhere"), 401, jwt_invalid(), CHALLENGE_INVALID),
            ("HS512 where HS256 is set", "Bearer " + make_jwt(alg="HS512"), 401, jwt_invalid(), CHALLENGE_INVALID),
            ("refresh token", "Bearer " + make_jwt(token_type="refresh"), 401, jwt_invalid("Token has wrong type"), CHALLENGE_INVALID),
            ("no user id", "Bearer " + make_jwt(user_id=None), 401, {"detail": "Token contained no recognizable user identification", "code": "token_not_valid"}, CHALLENGE_INVALID),
            ("bad user id", "Bearer " + make_jwt(user_id="x"), 401, {"detail": "Token contained no recognizable user identification", "code": "token_not_valid"}, CHALLENGE_INVALID),
        ]
        for name, header, status, body, challenge in cases:
            with self.subTest(name):
                caches["default"].clear()
                self.assertAnswer(self.get("/whoami/", header), status, body, challenge)
        # Nothing longer than a credential of gatehouse's was sent to it.
        self.assertFalse([t for _, t in self.fake.calls if t and len(t) > 512])


class IntrospectedJWTTest(FakeCase):
    """JWT_VERIFY "introspect": gatehouse judges every JWT (cached)."""

    extra = {"JWT_VERIFY": "introspect"}

    def test_introspected_jwt(self):
        good, other = make_jwt(), make_jwt(jti="j2")
        self.fake.answers[good] = dict(ALICE, token_type="Bearer", token_kind="jwt", exp=int(time.time()) + 300)
        self.fake.answers[other] = dict(ALICE, token_kind="token")  # not a JWT's answer
        body = json.loads(self.get("/whoami/", "Bearer " + good).content)
        self.assertEqual((body["username"], body["kind"], body["groups"]), ("alice", "jwt", ["editors"]))
        self.get("/whoami/", "Bearer " + good)
        self.assertEqual(self.fake.count("/o/introspect/"), 1)
        for tok in (other, make_jwt(jti="j3")):
            self.assertAnswer(self.get("/whoami/", "Bearer " + tok), 401, jwt_invalid(), CHALLENGE_INVALID)


class DjangoKeyJWTTest(FakeCase):
    """A simplejwt token Django issued for a custom user model keyed by
    UUIDs names its user by that key: gatehouse says which user it is."""

    def test_uuid_user_id_introspected(self):
        tok = make_jwt(user_id="3026d28e-dbc0-4dea-8da0-8aa9f5a3118d")
        self.fake.answers[tok] = dict(ALICE, token_type="Bearer", token_kind="jwt", exp=int(time.time()) + 300)
        body = json.loads(self.get("/whoami/", "Bearer " + tok).content)
        self.assertEqual((body["id"], body["username"], body["kind"]), (7, "alice", "jwt"))
        self.assertEqual(self.fake.count("/o/introspect/"), 1)
        # gatehouse knowing no user by that key: refused in its words.
        unknown = make_jwt(user_id="00000000-0000-4000-8000-000000000000")
        self.assertAnswer(self.get("/whoami/", "Bearer " + unknown), 401,
                          {"detail": "Token contained no recognizable user identification", "code": "token_not_valid"}, CHALLENGE_INVALID)
        self.assertEqual(self.fake.count("/o/introspect/"), 2)

    def test_digit_string_user_id_introspected(self):
        # A CharField key of digits names the user loaded with that key,
        # not the gatehouse user whose id the digits spell.
        tok = make_jwt(user_id="99")
        self.fake.answers[tok] = dict(ALICE, token_type="Bearer", token_kind="jwt", exp=int(time.time()) + 300)
        body = json.loads(self.get("/whoami/", "Bearer " + tok).content)
        self.assertEqual((body["id"], body["username"], body["kind"]), (7, "alice", "jwt"))
        self.assertEqual(self.fake.count("/o/introspect/"), 1)
        # A number is gatehouse's id, verified here without a call.
        self.assertAnswer(self.get("/either/", "Bearer " + make_jwt(user_id=99)), 200, {"ok": True})
        self.assertEqual(self.fake.count("/o/introspect/"), 1)
        # So is gatehouse's token naming its user by a key with the id
        # beside it; not when the key is digits alone.
        keyed = make_jwt(user_id="3026d28e-dbc0-4dea-8da0-8aa9f5a3118d", gatehouse_user_id=99)
        self.assertAnswer(self.get("/either/", "Bearer " + keyed), 200, {"ok": True})
        self.assertEqual(self.fake.count("/o/introspect/"), 1)
        digits = make_jwt(user_id="98", gatehouse_user_id=99)
        self.fake.answers[digits] = dict(ALICE, token_type="Bearer", token_kind="jwt", exp=int(time.time()) + 300)
        body = json.loads(self.get("/whoami/", "Bearer " + digits).content)
        self.assertEqual((body["id"], self.fake.count("/o/introspect/")), (7, 2))


class PermissionTest(FakeCase):
    def setUp(self):
        super().setUp()
        self.fake.answers.update(
            {
                "key": ALICE,
                "staffkey": dict(ALICE, user_id=8, is_staff=True),
                "rootkey": dict(ALICE, user_id=9, is_staff=True, is_superuser=True, permissions=[]),
                "nopermkey": dict(ALICE, user_id=10, permissions=["auth.view_user"]),
                "read": oauth_answer("read"),
                "write": oauth_answer("write"),
                "readwrite": oauth_answer("read write"),
            }
        )

    def test_permissions(self):
        jwt_tok = make_jwt()
        cases = [
            ("/staff/", None, "get", 401, NOT_PROVIDED),
            ("/staff/", "Token key", "get", 403, DENIED),
            ("/staff/", "Token staffkey", "get", 200, {"ok": True}),
            ("/perm/", "Token key", "get", 200, {"has_perm": True, "module": True}),
            ("/perm/", "Token nopermkey", "get", 200, {"has_perm": False, "module": True}),
            ("/perm/", "Token rootkey", "get", 200, {"has_perm": True, "module": True}),
            ("/scope-read/", None, "get", 401, NOT_PROVIDED),
            ("/scope-read/", "Bearer read", "get", 200, {"ok": True}),
            ("/scope-read/", "Bearer write", "get", 403, DENIED),
            ("/scope-read/", "Token key", "get", 403, DENIED),
            ("/scope-read/", "Bearer " + jwt_tok, "get", 403, DENIED),
            ("/read-write/", "Bearer read", "get", 200, {"ok": "read"}),
            ("/read-write/", "Bearer read", "post", 403, DENIED),
            ("/read-write/", "Bearer write", "post", 200, {"ok": "write"}),
            ("/read-write/", "Bearer write", "get", 403, DENIED),
            ("/read-write/", "Token key", "get", 403, DENIED),
            ("/either/", None, "get", 401, NOT_PROVIDED),
            ("/either/", "Token key", "get", 200, {"ok": True}),
            ("/either/", "Bearer " + jwt_tok, "get", 200, {"ok": True}),
            ("/either/", "Bearer read", "get", 403, DENIED),
            ("/either/", "Bearer readwrite", "get", 200, {"ok": True}),
        ]
        for path, auth, method, status, body in cases:
            with self.subTest(path=path, auth=auth, method=method):
                r = self.get(path, auth, method)
                self.assertEqual((r.status_code, json.loads(r.content)), (status, body))

    def test_scope_classes_need_required_scopes(self):
        # As DOT: TokenHasScope on a view without required_scopes is a
        # configuration error; TokenHasReadWriteScope does without.
        req = Request(APIRequestFactory().get("/"))
        req._auth = GatehouseToken("oauth", "Bearer", user_id=7, scope="read", clock=time.time)
        req._user = None
        with self.assertRaisesRegex(ImproperlyConfigured, "required_scopes"):
            TokenHasScope().has_permission(req, object())
        self.assertTrue(TokenHasReadWriteScope().has_permission(req, object()))

    def test_expired_oauth_token_has_no_scope(self):
        self.fake.answers["old"] = oauth_answer("read", exp_in=-5)
        self.assertAnswer(self.get("/scope-read/", "Bearer old"), 401, jwt_invalid(), CHALLENGE_INVALID)


def at_jwt(key=None, alg="RS256", typ="at+jwt", **claims):
    """An RFC 9068 JWT access token as gatehouse issues one (header typ
    at+jwt), signed with a key the fake gatehouse's JWKS never holds: only
    introspection can judge it."""
    now = int(time.time())
    body = {"iss": "http://gh", "exp": now + 300, "aud": "http://gh", "sub": "7", "client_id": "app1", "iat": now, "jti": "aj1", "scope": "read write"}
    body.update(claims)
    return jwt.encode(body, key or AT_KEY, algorithm=alg, headers={"typ": typ, "kid": "k1"})


AT_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class JWTAccessTokenTest(FakeCase):
    """RFC 9068 JWT access tokens (header typ at+jwt) are OAuth tokens:
    introspected as an opaque one is, never verified here as simplejwt's."""

    def test_accepted_by_introspection(self):
        tok = at_jwt(pad="x" * 600)  # longer than any opaque credential
        self.assertGreater(len(tok), 512)
        self.fake.answers[tok] = oauth_answer("read write")
        r = self.get("/whoami/", "Bearer " + tok)
        body = json.loads(r.content)
        self.assertEqual(
            (r.status_code, body["id"], body["username"], body["kind"], body["scopes"], body["client_id"]),
            (200, 7, "alice", "oauth", ["read", "write"], "app1"),
        )
        # The keyword in any case, as DOT reads it; the answer was cached.
        self.assertEqual(self.get("/whoami/", "bearer " + tok).status_code, 200)
        self.assertEqual(self.fake.calls, [("/o/introspect/", tok)])
        self.assertAnswer(self.get("/scope-read/", "Bearer " + tok), 200, {"ok": True})
        self.assertAnswer(self.get("/read-write/", "Bearer " + tok, "post"), 200, {"ok": "write"})

    def test_client_credentials(self):
        tok = at_jwt(sub="app1")
        self.fake.answers[tok] = oauth_answer("read", user=False)
        self.assertAnswer(self.get("/whoami/", "Bearer " + tok), 403, DENIED)
        self.assertAnswer(self.get("/scope-read/", "Bearer " + tok), 200, {"ok": True})

    def test_refused_as_an_opaque_token_is(self):
        # Unknown to gatehouse (or revoked): simplejwt's generic refusal, as
        # for an opaque token, without a look at the JWKS or the signature.
        cases = [
            ("unknown", at_jwt(), {"active": False}),
            ("a DRF key's answer", at_jwt(jti="aj2"), ALICE),
            ("a simplejwt token's answer", at_jwt(jti="aj3"), dict(ALICE, token_type="Bearer", token_kind="jwt")),
            ("expired", at_jwt(jti="aj4"), oauth_answer("read", exp_in=-5)),
        ]
        for name, tok, answer in cases:
            with self.subTest(name):
                self.fake.answers[tok] = answer
                self.assertAnswer(self.get("/whoami/", "Bearer " + tok), 401, jwt_invalid(), CHALLENGE_INVALID)
                self.assertAnswer(self.get("/whoami/", "bearer " + tok), 401, NOT_PROVIDED, CHALLENGE_INVALID)
        self.assertEqual(self.fake.count("/.well-known/jwks.json"), 0)

    def test_simplejwt_claims_in_an_at_jwt_are_not_trusted(self):
        # Signed with the simplejwt HMAC key and carrying simplejwt's claims,
        # a token typed at+jwt is still an OAuth token: gatehouse decides.
        tok = jwt.encode(
            {"token_type": "access", "exp": int(time.time()) + 300, "iat": int(time.time()), "jti": "j1", "user_id": 7},
            HS_KEY,
            algorithm="HS256",
            headers={"typ": "at+jwt"},
        )
        self.assertAnswer(self.get("/either/", "Bearer " + tok), 401, jwt_invalid(), CHALLENGE_INVALID)
        self.assertEqual(self.fake.calls, [("/o/introspect/", tok)])

    def test_other_dotted_tokens_stay_simplejwt(self):
        # A simplejwt token (typ JWT) is verified here, never introspected
        # for IsAuthenticated; "at+jwt" elsewhere than the header's typ,
        # another typ, or a header that is not base64url leaves a token on
        # the simplejwt path, refused with its usual body.
        self.assertAnswer(self.get("/either/", "Bearer " + make_jwt()), 200, {"ok": True})
        self.assertAnswer(self.get("/either/", "Bearer " + make_jwt(typ="at+jwt")), 200, {"ok": True})
        for name, tok in (
            ("application/at+jwt", at_jwt(typ="application/at+jwt")),
            ("typ JWT", at_jwt(typ="JWT")),
            ("padded header", at_jwt().replace(".", "=.", 1)),
            ("header not base64url", "eyJ0eXAiOiJhdCtqd3QifQ!.e30.sig"),
        ):
            with self.subTest(name):
                self.assertAnswer(self.get("/either/", "Bearer " + tok), 401, jwt_invalid(), CHALLENGE_INVALID)
        self.assertEqual(self.fake.calls, [])

    def test_bounds(self):
        big = at_jwt(pad="x" * 9000)
        self.assertGreater(len(big), 8192)
        self.fake.answers[big] = oauth_answer("read")
        self.assertAnswer(self.get("/whoami/", "Bearer " + big), 401, jwt_invalid(), CHALLENGE_INVALID)
        self.assertEqual(self.fake.calls, [])

    def test_recognition(self):
        def seg(raw):
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        yes = seg(b'{"alg":"RS256","typ":"at+jwt"}') + ".e30.sig"
        self.assertTrue(is_jwt_access_token(yes))
        self.assertTrue(is_jwt_access_token(at_jwt()))
        for name, value in (
            ("simplejwt", make_jwt()),
            ("no dot", "opaque"),
            ("typ JWT", seg(b'{"alg":"RS256","typ":"JWT"}') + ".e30.sig"),
            ("spaced JSON", seg(b'{"alg":"RS256","typ": "at+jwt"}') + ".e30.sig"),
            ("in the payload only", "e30." + seg(b'{"typ":"at+jwt"}') + ".sig"),
            ("header over 256 characters", seg(b'{"typ":"at+jwt","x":"' + b"y" * 200 + b'"}') + ".e30.sig"),
            ("over 8192 characters", yes + "x" * 8192),
            ("padding", seg(b'{"typ":"at+jwt"}') + "==.e30.sig"),
            ("bad length", seg(b'{"typ":"at+jwt"}') + "AAA.e30.sig"),
            ("non-ASCII", "\xe9" + yes),
        ):
            with self.subTest(name):
                self.assertFalse(is_jwt_access_token(value))


class JWTAccessTokenRS256Test(FakeCase):
    """Under RS256 with the JWKS holding the key gatehouse signs both kinds
    of JWT with, an at+jwt still goes to introspection: never judged by
    its signature, which would let a revoked one through."""

    extra = {"JWT_ALGORITHM": "RS256", "SIGNING_KEY": None}

    def test_introspected_not_verified(self):
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(AT_KEY.public_key()))
        jwk.update({"kid": "k1", "alg": "RS256", "use": "sig"})
        self.fake.jwks = {"keys": [jwk]}
        tok = at_jwt()
        self.assertAnswer(self.get("/whoami/", "Bearer " + tok), 401, jwt_invalid(), CHALLENGE_INVALID)
        self.fake.answers[tok] = oauth_answer("read")
        caches["default"].clear()
        self.assertEqual(json.loads(self.get("/whoami/", "Bearer " + tok).content)["kind"], "oauth")
        self.assertEqual(self.fake.count("/.well-known/jwks.json"), 0)


class IntrospectedJWTAccessTokenTest(FakeCase):
    extra = {"JWT_VERIFY": "introspect"}

    def test_kind_is_oauth(self):
        tok = at_jwt()
        self.fake.answers[tok] = oauth_answer("read")
        body = json.loads(self.get("/whoami/", "Bearer " + tok).content)
        self.assertEqual((body["kind"], body["scopes"]), ("oauth", ["read"]))


class ClockedCase(FakeCase):
    """Time stands still for the cache and the client until advance()."""

    def setUp(self):
        super().setUp()
        self.clock = Clock(start=1_000_000.0)
        ClockCache.clock = self.clock
        self.addCleanup(setattr, ClockCache, "clock", None)
        get_client().clock = self.clock


class CacheTest(ClockedCase):
    extra = {"CACHE_TTL": 10, "NEGATIVE_CACHE_TTL": 5}

    def test_positive_answer_cached_for_ttl(self):
        self.fake.answers["k1"] = ALICE
        self.assertEqual(self.get("/whoami/", "Token k1").status_code, 200)
        del self.fake.answers["k1"]  # revoked at gatehouse
        self.clock.advance(9.9)
        self.assertEqual(self.get("/whoami/", "Token k1").status_code, 200)  # within the bound
        self.assertEqual(self.fake.count("/o/introspect/"), 1)
        self.clock.advance(0.1)
        self.assertAnswer(self.get("/whoami/", "Token k1"), 401, {"detail": "Invalid token."}, CHALLENGE)
        self.assertEqual(self.fake.count("/o/introspect/"), 2)

    def test_negative_answer_cached(self):
        for _ in range(3):
            self.get("/whoami/", "Token nope")
        self.assertEqual(self.fake.count("/o/introspect/"), 1)
        self.fake.answers["nope"] = ALICE
        self.clock.advance(4.9)
        self.assertEqual(self.get("/whoami/", "Token nope").status_code, 401)
        self.clock.advance(0.1)
        self.assertEqual(self.get("/whoami/", "Token nope").status_code, 200)
        self.assertEqual(self.fake.count("/o/introspect/"), 2)

    def test_never_past_exp(self):
        self.fake.answers["o1"] = dict(oauth_answer("read"), exp=int(self.clock() + 3))
        self.assertEqual(self.get("/whoami/", "Bearer o1").status_code, 200)
        self.clock.advance(2.5)
        self.assertEqual(self.get("/whoami/", "Bearer o1").status_code, 200)
        # The cached answer ends at exp (not CACHE_TTL); gatehouse, still
        # answering active here, is asked again, and its exp has passed.
        self.clock.advance(0.6)
        self.assertEqual(self.get("/whoami/", "Bearer o1").status_code, 401)
        self.assertEqual(self.fake.count("/o/introspect/"), 2)

    def test_revoked_jwt_access_token_refused_after_ttl(self):
        # As an opaque OAuth token: cached CACHE_TTL, then gatehouse's
        # inactive answer is seen.
        tok = at_jwt()
        self.fake.answers[tok] = dict(oauth_answer("read"), exp=int(self.clock() + 3600))
        self.assertEqual(self.get("/whoami/", "Bearer " + tok).status_code, 200)
        del self.fake.answers[tok]  # revoked at gatehouse
        self.clock.advance(9.9)
        self.assertEqual(self.get("/whoami/", "Bearer " + tok).status_code, 200)  # within the bound
        self.clock.advance(0.1)
        self.assertAnswer(self.get("/whoami/", "Bearer " + tok), 401, jwt_invalid(), CHALLENGE_INVALID)
        self.assertEqual(self.fake.count("/o/introspect/"), 2)
        self.assertFalse([k for k in caches["default"]._cache.keys() if tok in k or tok.split(".")[2] in k])

    def test_cache_keys_never_hold_the_token(self):
        secret = "kSecretValue123"
        self.fake.answers[secret] = ALICE
        self.get("/whoami/", "Token " + secret)
        keys = list(caches["default"]._cache.keys())
        self.assertTrue(keys)
        self.assertFalse([k for k in keys if secret in k])
        self.assertFalse([v for v in caches["default"]._cache.values() if secret.encode() in v])


class NoCacheTest(ClockedCase):
    extra = {"CACHE_TTL": 0, "NEGATIVE_CACHE_TTL": 0}

    def test_every_request_asks(self):
        self.fake.answers["k1"] = ALICE
        for header in ("Token k1", "Token k1", "Token nope", "Token nope"):
            self.get("/whoami/", header)
        self.assertEqual(self.fake.count("/o/introspect/"), 4)
        self.assertEqual(list(caches["default"]._cache.keys()), [])


class UnavailableTest(FakeCase):
    def test_gatehouse_down(self):
        down = refusing_port()
        self.addCleanup(down.close)
        url = "http://127.0.0.1:%d" % down.getsockname()[1]
        with self.settings(GATEHOUSE_DRF={"URL": url, "CLIENT_ID": "api", "CLIENT_SECRET": "s3cret", "TIMEOUT": 1}):
            for header in ("Token k1", "Bearer o1"):
                with self.subTest(header):
                    r = self.get("/whoami/", header)
                    self.assertAnswer(r, 503, UNAVAILABLE)
                    self.assertEqual(r.get("Retry-After"), "1")
            # An HS256 JWT still verifies here; what it does not tell cannot be had.
            self.assertEqual(self.get("/either/", "Bearer " + make_jwt(key="gatehouse-drf-tests-not-a-secret-0123456789abcdef")).status_code, 200)
            self.assertAnswer(self.get("/whoami/", "Bearer " + make_jwt(key="gatehouse-drf-tests-not-a-secret-0123456789abcdef")), 503, UNAVAILABLE)

    def test_gatehouse_errors(self):
        cases = [
            ("server error", lambda: self.fake.status.__setitem__("/o/introspect/", 500)),
            ("client refused", lambda: setattr(self.fake, "client", ("api", "other"))),
            ("plain DOT answer", lambda: self.fake.answers.__setitem__("k1", {"active": True, "scope": "read", "exp": 2000000000, "client_id": "x"})),
        ]
        for name, breakit in cases:
            with self.subTest(name):
                self.fake.reset()
                self.fake.client = ("api", "s3cret")
                caches["default"].clear()
                breakit()
                self.assertAnswer(self.get("/whoami/", "Token k1"), 503, UNAVAILABLE)


class JWKSTest(FakeCase):
    extra = {"JWT_ALGORITHM": "RS256", "SIGNING_KEY": None, "JWKS_MIN_REFETCH": 30}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.keys = {kid: rsa.generate_private_key(public_exponent=65537, key_size=2048) for kid in ("k1", "k2", "k3")}

    def publish(self, *kids):
        out = []
        for kid in kids:
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.keys[kid].public_key()))
            jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
            out.append(jwk)
        self.fake.jwks = {"keys": out}

    def setUp(self):
        super().setUp()
        self.now = [1000.0]
        get_client().clock = lambda: self.now[0]

    def rs(self, kid, signer=None):
        return "Bearer " + make_jwt(key=self.keys[signer or kid], alg="RS256", kid=kid)

    def test_rotation_and_refetch_limit(self):
        self.publish("k1")
        self.assertEqual(self.get("/either/", self.rs("k1")).status_code, 200)
        self.assertEqual(self.get("/either/", self.rs("k1")).status_code, 200)
        self.assertEqual(self.fake.count("/.well-known/jwks.json"), 1)
        # gatehouse rotates to k2: the unknown kid refetches the set once...
        self.publish("k1", "k2")
        self.now[0] += 31
        self.assertEqual(self.get("/either/", self.rs("k2")).status_code, 200)
        self.assertEqual(self.fake.count("/.well-known/jwks.json"), 2)
        # ...and an unknown kid within JWKS_MIN_REFETCH fetches nothing more.
        for _ in range(3):
            self.assertAnswer(self.get("/either/", self.rs("k3")), 401, jwt_invalid(), CHALLENGE_INVALID)
        self.assertEqual(self.fake.count("/.well-known/jwks.json"), 2)
        # A token signed by another key under a known kid does not verify.
        self.assertEqual(self.get("/either/", self.rs("k1", signer="k3")).status_code, 401)
        # An HS256 token is refused when RS256 is set (no algorithm confusion).
        self.assertEqual(self.get("/either/", "Bearer " + make_jwt()).status_code, 401)

    def test_jwks_unreachable(self):
        self.fake.status["/.well-known/jwks.json"] = 500
        self.assertAnswer(self.get("/either/", self.rs("k1")), 503, UNAVAILABLE)

    def test_stale_keys_kept_when_refresh_fails(self):
        self.publish("k1")
        self.assertEqual(self.get("/either/", self.rs("k1")).status_code, 200)
        self.fake.status["/.well-known/jwks.json"] = 500
        self.now[0] += 400  # past JWKS_TTL
        self.assertEqual(self.get("/either/", self.rs("k1")).status_code, 200)
        self.assertEqual(self.fake.count("/.well-known/jwks.json"), 2)


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def p256_jwk(public_key):
    """The JWK of a P-256 public key with its coordinates at their full 32
    bytes, as RFC 7518 section 6.2.1.2 requires and gatehouse writes them.
    (Debian's PyJWT 2.6 drops leading zero bytes in to_jwk, about one key in
    128, and then refuses its own output.)"""
    n = public_key.public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": b64url(n.x.to_bytes(32, "big")), "y": b64url(n.y.to_bytes(32, "big"))}


def p256_key_with_short_x():
    """A P-256 key whose x coordinate begins with a zero byte (one key in
    256), the case a JWK writer that drops leading zeros gets wrong."""
    for _ in range(10000):
        key = ec.generate_private_key(ec.SECP256R1())
        if key.public_key().public_numbers().x < 1 << 248:
            return key
    raise AssertionError("no P-256 key with a leading zero byte in 10000")


class OtherAlgorithmsTest(FakeCase):
    """ES256 and EdDSA keys from the JWKS, as gatehouse serves them."""

    def test_es256_and_eddsa(self):
        cases = [
            ("ES256", ec.generate_private_key(ec.SECP256R1()), p256_jwk),
            ("ES256", p256_key_with_short_x(), p256_jwk),
            ("EdDSA", ed25519.Ed25519PrivateKey.generate(), lambda k: json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(k))),
        ]
        for alg, key, to_jwk in cases:
            with self.subTest(alg), self.settings(GATEHOUSE_DRF={"URL": self.fake.url, "CLIENT_ID": "api", "CLIENT_SECRET": "s3cret", "JWT_ALGORITHM": alg}):
                jwk = to_jwk(key.public_key())
                jwk.update({"kid": "k-" + alg, "use": "sig"})
                self.fake.jwks = {"keys": [jwk]}
                good = make_jwt(key=key, alg=alg, kid="k-" + alg)
                self.assertAnswer(self.get("/either/", "Bearer " + good), 200, {"ok": True})
                other = make_jwt(key=type(key).generate() if alg == "EdDSA" else ec.generate_private_key(ec.SECP256R1()), alg=alg, kid="k-" + alg)
                self.assertAnswer(self.get("/either/", "Bearer " + other), 401, jwt_invalid(), CHALLENGE_INVALID)


class LocalUserTest(FakeCase, TestCase):
    extra = {"USER": "local"}

    def setUp(self):
        super().setUp()
        self.alice = User.objects.create_user("alice", "alice@example.com", "pw", first_name="Alice", id=7)
        self.fake.answers["k1"] = ALICE
        self.fake.answers["ghost"] = dict(ALICE, user_id=99)

    def test_api_me_is_the_local_row(self):
        self.assertAnswer(self.get("/api/me/", "Token k1"), 200, {"id": 7, "first_name": "Alice", "last_name": "", "email": "alice@example.com", "username": "alice"})
        self.assertAnswer(self.get("/api/me/", "Bearer " + make_jwt()), 200, {"id": 7, "first_name": "Alice", "last_name": "", "email": "alice@example.com", "username": "alice"})
        self.assertEqual(self.fake.count("/api/me/"), 0)

    def test_missing_or_inactive_row(self):
        self.assertAnswer(self.get("/api/me/", "Token ghost"), 401, {"detail": "Invalid token."}, CHALLENGE)
        self.assertAnswer(self.get("/api/me/", "Bearer " + make_jwt(user_id=99)), 401, {"detail": "User not found", "code": "user_not_found"}, CHALLENGE_INVALID)
        User.objects.filter(id=7).update(is_active=False)
        caches["default"].clear()
        self.assertAnswer(self.get("/api/me/", "Token k1"), 401, {"detail": "User inactive or deleted."}, CHALLENGE)
        self.assertAnswer(self.get("/api/me/", "Bearer " + make_jwt()), 401, {"detail": "User is inactive", "code": "user_inactive"}, CHALLENGE_INVALID)

    def test_model_permissions_from_the_local_database(self):
        self.assertAnswer(self.get("/model-perms/", "Token k1", "post"), 403, DENIED)
        self.alice.user_permissions.add(Permission.objects.get(codename="add_user"))
        r = self.api.post("/model-perms/", {"username": "bob", "password": "pw"}, HTTP_AUTHORIZATION="Token k1")
        self.assertEqual(r.status_code, 201, r.content)


class RemoteModelPermsTest(FakeCase, TestCase):
    def test_model_permissions_from_gatehouse(self):
        self.fake.answers["k1"] = ALICE  # holds auth.add_user
        self.fake.answers["k2"] = dict(ALICE, permissions=[])
        self.assertEqual(self.api.post("/model-perms/", {"username": "bob", "password": "pw"}, HTTP_AUTHORIZATION="Token k2").status_code, 403)
        r = self.api.post("/model-perms/", {"username": "bob", "password": "pw"}, HTTP_AUTHORIZATION="Token k1")
        self.assertEqual(r.status_code, 201, r.content)


class SettingsTest(SimpleTestCase):
    def test_bad_settings_named(self):
        ok = {"URL": "http://gh:8000", "CLIENT_ID": "a", "CLIENT_SECRET": "b"}
        cases = [
            ("not a dict", "x", "GATEHOUSE_DRF must be a dict"),
            ("no URL", {"CLIENT_ID": "a", "CLIENT_SECRET": "b"}, "GATEHOUSE_DRF['URL']"),
            ("URL scheme", dict(ok, URL="ftp://gh"), "GATEHOUSE_DRF['URL']"),
            ("URL with credentials", dict(ok, URL="http://u:p@gh"), "must not carry credentials"),
            ("no secret", {"URL": "http://gh", "CLIENT_ID": "a"}, "GATEHOUSE_DRF['CLIENT_SECRET']"),
            ("typo", dict(ok, CACHE_TTl=3), "unknown key(s) 'CACHE_TTl'"),
            ("algorithm", dict(ok, JWT_ALGORITHM="none"), "GATEHOUSE_DRF['JWT_ALGORITHM']"),
            ("key with RS256", dict(ok, JWT_ALGORITHM="RS256", SIGNING_KEY="k"), "GATEHOUSE_DRF['SIGNING_KEY']"),
            ("negative ttl", dict(ok, CACHE_TTL=-1), "GATEHOUSE_DRF['CACHE_TTL']"),
            ("ttl as text", dict(ok, CACHE_TTL="30"), "GATEHOUSE_DRF['CACHE_TTL']"),
            ("user mode", dict(ok, USER="db"), "GATEHOUSE_DRF['USER']"),
            ("verify mode", dict(ok, JWT_VERIFY="never"), "GATEHOUSE_DRF['JWT_VERIFY']"),
            ("header types", dict(ok, JWT_HEADER_TYPES=[]), "GATEHOUSE_DRF['JWT_HEADER_TYPES']"),
            ("zero timeout", dict(ok, TIMEOUT=0), "GATEHOUSE_DRF['TIMEOUT']"),
            ("unknown cache", dict(ok, CACHE_ALIAS="redis"), "GATEHOUSE_DRF['CACHE_ALIAS']"),
            ("verify TLS", dict(ok, VERIFY_TLS=1), "GATEHOUSE_DRF['VERIFY_TLS']"),
        ]
        for name, value, words in cases:
            with self.subTest(name):
                with self.assertRaises(ImproperlyConfigured) as ctx:
                    conf.load(value)
                self.assertIn(words, str(ctx.exception))
        # INSTALLED_APPS' check at start refuses the same mistakes.
        with self.settings(GATEHOUSE_DRF=dict(ok, USER="db")):
            with self.assertRaisesRegex(ImproperlyConfigured, r"GATEHOUSE_DRF\['USER'\]"):
                apps.get_app_config("gatehouse_drf").ready()
        s = conf.load(dict(ok, URL="http://gh:8000/"))
        self.assertEqual((s.url, s.signing_key, s.cache_ttl), ("http://gh:8000", "gatehouse-drf-tests-not-a-secret-0123456789abcdef", 30.0))
