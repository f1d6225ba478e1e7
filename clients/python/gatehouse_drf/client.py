"""Talking to gatehouse: introspection (RFC 7662, with gatehouse's extended
answer) behind Django's cache, the JWKS, the profile of /api/me/, and the
local verification of simplejwt access tokens."""

import hashlib
import logging
import math
import threading
import time
from urllib.parse import quote_plus

import jwt
import requests
from django.core.cache import caches
from django.core.signals import setting_changed

from . import conf
from .exceptions import GatehouseUnavailable, refused

log = logging.getLogger("gatehouse_drf")

INACTIVE = {"active": False}


class InvalidJWT(Exception):
    """A JWT that does not verify; reason is "invalid" (bad signature,
    malformed, expired, wrong aud/iss, unknown key), "no_exp" (no exp
    claim), "no_jti" (no id claim, which simplejwt refuses after the
    expiry), "no_type" (no type claim) or "wrong_type" (a refresh token or
    another type), in simplejwt's order."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def token_digest(*parts):
    """The SHA-256 of parts, the only form in which a token reaches a cache
    key: a cache dump never shows a usable credential."""
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8", "surrogateescape"))
        h.update(b"\0")
    return h.hexdigest()


class Client:
    """One gatehouse, as the settings describe it. Safe for concurrent use
    by the threads of one process; the cache it writes is Django's, so the
    processes of a deployment share introspection answers when the cache
    backend is shared."""

    def __init__(self, settings, clock=time.time, session=None):
        self.settings = settings
        self.clock = clock
        self.session = session or requests.Session()
        self.cache = caches[settings.cache_alias]
        # The key prefix names the gatehouse and the client, so that two
        # configurations never read each other's answers.
        self._prefix = "gatehouse_drf:" + token_digest(settings.url, settings.client_id)[:16] + ":"
        self._jwks_lock = threading.Lock()
        self._jwks = {}  # kid -> jwt.PyJWK
        self._jwks_fetched = None  # clock time of the last successful fetch
        self._jwks_tried = None  # clock time of the last attempt

    # -- introspection ------------------------------------------------------

    def introspect(self, token):
        """gatehouse's answer about token: a dict with "active" and, when
        active, the extended fields. Served from the cache when it holds an
        answer; an active answer whose exp has passed reads as inactive.
        Raises GatehouseUnavailable when gatehouse cannot answer."""
        key = self._prefix + "i:" + token_digest(token)
        now = self.clock()
        ttl = self.settings.cache_ttl
        if ttl > 0 or self.settings.negative_cache_ttl > 0:
            hit = self.cache.get(key)
            if hit is not None:
                return self._fresh(hit, now)
        answer = self._post_introspect(token)
        if answer.get("active") is True:
            exp = answer.get("exp")
            if isinstance(exp, (int, float)):
                ttl = min(ttl, exp - now)
            ttl = math.floor(ttl)
            if ttl >= 1:
                self.cache.set(key, answer, ttl)
        elif self.settings.negative_cache_ttl >= 1:
            self.cache.set(key, INACTIVE, math.floor(self.settings.negative_cache_ttl))
        return self._fresh(answer, now)

    @staticmethod
    def _fresh(answer, now):
        if answer.get("active") is not True:
            return INACTIVE
        exp = answer.get("exp")
        if isinstance(exp, (int, float)) and exp <= now:
            return INACTIVE
        return answer

    def _post_introspect(self, token):
        s = self.settings
        try:
            r = self.session.post(
                s.url + "/o/introspect/",
                data={"token": token},
                # RFC 6749 2.3.1: each form-urlencoded before Basic.
                auth=(quote_plus(s.client_id, safe=""), quote_plus(s.client_secret, safe="")),
                headers={"Accept": "application/json"},
                timeout=s.timeout,
                verify=s.verify_tls,
                allow_redirects=False,
            )
        except requests.RequestException as e:
            log.error("gatehouse introspection failed: %s", type(e).__name__)
            raise self._unavailable()
        if r.status_code in (401, 403):
            log.error(
                "gatehouse refused the introspection client (HTTP %d): check GATEHOUSE_DRF CLIENT_ID and "
                "CLIENT_SECRET, and that the application was created with --resource-server",
                r.status_code,
            )
            raise self._unavailable()
        if r.status_code != 200:
            log.error("gatehouse introspection answered HTTP %d", r.status_code)
            raise self._unavailable()
        try:
            answer = r.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or not isinstance(answer.get("active"), bool):
            log.error("gatehouse introspection answered something other than an RFC 7662 object")
            raise self._unavailable()
        if answer["active"] and "token_kind" not in answer:
            # DOT's plain answer: the client is not a resource server, or
            # gatehouse predates the extended answer. Refusing is safer
            # than guessing the kind and the user.
            log.error("gatehouse's introspection answer lacks token_kind: create the client with --resource-server")
            raise self._unavailable()
        return answer

    def _unavailable(self):
        # Retry-After as gatehouse's own 503s: the time a call may take.
        return GatehouseUnavailable(wait=max(1, math.ceil(self.settings.timeout)))

    # -- the user's profile (first and last name) ---------------------------

    def profile(self, authorization):
        """gatehouse's GET /api/me/ for the Authorization value: the fields
        introspection does not tell (first_name, last_name), cached like an
        active introspection answer."""
        s = self.settings
        key = self._prefix + "me:" + token_digest(authorization)
        hit = self.cache.get(key) if s.cache_ttl >= 1 else None
        if hit is not None:
            return hit
        try:
            r = self.session.get(
                s.url + "/api/me/",
                headers={"Authorization": authorization, "Accept": "application/json"},
                timeout=s.timeout,
                verify=s.verify_tls,
                allow_redirects=False,
            )
            body = r.json() if r.status_code in (200, 401, 403) else None
        except (requests.RequestException, ValueError) as e:
            log.error("gatehouse /api/me/ failed: %s", type(e).__name__)
            raise self._unavailable()
        if not isinstance(body, dict):
            log.error("gatehouse /api/me/ answered HTTP %d", r.status_code)
            raise self._unavailable()
        if r.status_code != 200:
            # gatehouse refuses the credential now (its user is gone, or it
            # was revoked since it was verified here): its own words.
            raise refused(r.status_code, body)
        if s.cache_ttl >= 1:
            self.cache.set(key, body, math.floor(s.cache_ttl))
        return body

    # -- JWTs ---------------------------------------------------------------

    def verify_jwt(self, token):
        """The claims of a simplejwt access token that verifies here.
        Raises InvalidJWT, or GatehouseUnavailable when the JWKS is needed
        and cannot be had."""
        s = self.settings
        if s.jwt_algorithm in conf.HMAC_ALGORITHMS:
            key = s.signing_key  # decode checks the header's alg against it
        else:
            try:
                header = jwt.get_unverified_header(token)
            except jwt.PyJWTError:
                raise InvalidJWT("invalid")
            if header.get("alg") != s.jwt_algorithm:
                raise InvalidJWT("invalid")
            key = self._public_key(header.get("kid"))
        # PyJWT's defaults otherwise, as simplejwt: a token naming an
        # audience is refused when none is configured.
        options = {"require": ["exp"]}
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[s.jwt_algorithm],
                audience=s.jwt_audience,
                issuer=s.jwt_issuer,
                leeway=s.jwt_leeway,
                options=options,
            )
        except jwt.MissingRequiredClaimError as e:
            raise InvalidJWT("no_exp" if e.claim == "exp" else "invalid")
        except jwt.PyJWTError:
            raise InvalidJWT("invalid")
        if s.jti_claim not in claims:
            raise InvalidJWT("no_jti")
        if s.token_type_claim not in claims:
            raise InvalidJWT("no_type")
        if claims.get(s.token_type_claim) != "access":
            raise InvalidJWT("wrong_type")
        return claims

    def _public_key(self, kid):
        """The JWKS key named kid (the only key when kid is None and the set
        holds one). The set is fetched when older than JWKS_TTL, and when kid
        is unknown, at most once per JWKS_MIN_REFETCH."""
        s = self.settings
        with self._jwks_lock:
            now = self.clock()
            stale = self._jwks_fetched is None or now - self._jwks_fetched >= s.jwks_ttl
            may_retry = self._jwks_tried is None or now - self._jwks_tried >= s.jwks_min_refetch
            if self._jwks_fetched is None or ((stale or self._find(kid) is None) and may_retry):
                self._fetch_jwks(now, have_keys=bool(self._jwks))
            k = self._find(kid)
        if k is None:
            raise InvalidJWT("invalid")
        return k.key

    def _find(self, kid):
        if kid is None:
            return next(iter(self._jwks.values())) if len(self._jwks) == 1 else None
        return self._jwks.get(kid)

    def _fetch_jwks(self, now, have_keys):
        s = self.settings
        self._jwks_tried = now
        try:
            r = self.session.get(s.url + "/.well-known/jwks.json", timeout=s.timeout, verify=s.verify_tls, allow_redirects=False)
            if r.status_code != 200:
                raise ValueError("HTTP %d" % r.status_code)
            keys = {}
            for entry in r.json().get("keys", []):
                try:
                    k = jwt.PyJWK(entry)
                except jwt.PyJWTError:
                    continue  # a key of another type or algorithm
                if k.key_id:
                    keys[k.key_id] = k
            if not keys:
                raise ValueError("no usable key")
        except (requests.RequestException, ValueError, AttributeError) as e:
            if have_keys:
                log.warning("gatehouse JWKS refresh failed (%s); keeping the keys fetched before", e.__class__.__name__)
                return
            log.error("gatehouse JWKS fetch failed: %s", e)
            raise self._unavailable()
        self._jwks = keys
        self._jwks_fetched = now


_lock = threading.Lock()
_client = None


def get_client():
    """The process's Client, built from the settings on first use and again
    after a test changes GATEHOUSE_DRF or CACHES."""
    global _client
    c = _client
    if c is None:
        with _lock:
            if _client is None:
                _client = Client(conf.load())
            c = _client
    return c


def reset(**kwargs):
    """Forgets the process's Client (its JWKS with it)."""
    global _client
    if kwargs.get("setting") not in (None, "GATEHOUSE_DRF", "CACHES", "SECRET_KEY", "SIMPLE_JWT"):
        return
    with _lock:
        _client = None


setting_changed.connect(reset)
