"""The GATEHOUSE_DRF setting: a dict in the Django settings, read once and
checked, each mistake named in an ImproperlyConfigured error."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")
PUBLIC_KEY_ALGORITHMS = ("RS256", "ES256", "EdDSA")

# Every key the setting may hold, with its default. A key not listed is a
# typo, refused at start.
DEFAULTS = {
    # gatehouse's base URL, such as "https://auth.example.com" (required).
    "URL": None,
    # The resource server's OAuth client (gatehouse createapplication
    # --resource-server): it authenticates the introspection requests.
    "CLIENT_ID": None,
    "CLIENT_SECRET": None,
    # simplejwt access tokens: the algorithm gatehouse signs with
    # (GATEHOUSE_JWT_ALGORITHM); HS* need SIGNING_KEY (GATEHOUSE_JWT_SIGNING_KEY;
    # default: the SIMPLE_JWT SIGNING_KEY, else SECRET_KEY, as simplejwt);
    # RS256/ES256/EdDSA use the public keys of gatehouse's JWKS.
    "JWT_ALGORITHM": "HS256",
    "SIGNING_KEY": None,
    # "local" verifies JWTs here; "introspect" asks gatehouse about each
    # (cached like opaque tokens), which sees revocations within CACHE_TTL.
    "JWT_VERIFY": "local",
    "JWT_AUDIENCE": None,
    "JWT_ISSUER": None,
    "JWT_LEEWAY": 0,
    "USER_ID_CLAIM": "user_id",
    "TOKEN_TYPE_CLAIM": "token_type",
    "JTI_CLAIM": "jti",
    "JWT_HEADER_TYPES": ("Bearer",),
    # Claims a project's token serializer added (GATEHOUSE_JWT_GROUPS_CLAIM,
    # GATEHOUSE_JWT_PERMISSIONS_CLAIM); None: fetched by introspection.
    "GROUPS_CLAIM": None,
    "PERMISSIONS_CLAIM": None,
    # JWKS: refetched after JWKS_TTL seconds, and on a kid it does not hold,
    # at most once per JWKS_MIN_REFETCH seconds.
    "JWKS_TTL": 300,
    "JWKS_MIN_REFETCH": 10,
    # Introspection answers: an active one is kept CACHE_TTL seconds and
    # never past the token's exp (the revocation bound); an inactive one
    # NEGATIVE_CACHE_TTL seconds. 0 turns the cache off.
    "CACHE_ALIAS": "default",
    "CACHE_TTL": 30,
    "NEGATIVE_CACHE_TTL": 5,
    # Seconds a call to gatehouse may take before the request is answered 503.
    "TIMEOUT": 5.0,
    # requests' verify: True, False or a CA bundle path.
    "VERIFY_TLS": True,
    # "remote": request.user is a GatehouseUser built from what gatehouse
    # tells; "local": the project's own user row, looked up by primary key.
    "USER": "remote",
    # DOT's READ_SCOPE and WRITE_SCOPE, for TokenHasReadWriteScope.
    "READ_SCOPE": "read",
    "WRITE_SCOPE": "write",
}


@dataclass(frozen=True)
class Settings:
    url: str
    client_id: str
    client_secret: str
    jwt_algorithm: str
    signing_key: str
    jwt_verify: str
    jwt_audience: object
    jwt_issuer: object
    jwt_leeway: float
    user_id_claim: str
    token_type_claim: str
    jti_claim: str
    jwt_header_types: tuple
    groups_claim: object
    permissions_claim: object
    jwks_ttl: float
    jwks_min_refetch: float
    cache_alias: str
    cache_ttl: float
    negative_cache_ttl: float
    timeout: float
    verify_tls: object
    user: str
    read_scope: str
    write_scope: str


def _fail(key, why):
    raise ImproperlyConfigured("GATEHOUSE_DRF[%r]: %s" % (key, why))


def _number(raw, key, minimum=0):
    v = raw[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < minimum:
        _fail(key, "must be a number of seconds, at least %s (got %r)" % (minimum, v))
    return float(v)


def _text(raw, key, required=True):
    v = raw[key]
    if v is None and not required:
        return None
    if not isinstance(v, str) or not v:
        _fail(key, "must be a non-empty string" + ("" if required else " or None"))
    return v


def load(conf=None):
    """Reads and checks the GATEHOUSE_DRF setting (or conf)."""
    given = conf if conf is not None else getattr(django_settings, "GATEHOUSE_DRF", None)
    if not isinstance(given, dict):
        raise ImproperlyConfigured("GATEHOUSE_DRF must be a dict in the Django settings (at least URL, CLIENT_ID and CLIENT_SECRET)")
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise ImproperlyConfigured("GATEHOUSE_DRF: unknown key(s) %s; known: %s" % (", ".join(map(repr, unknown)), ", ".join(sorted(DEFAULTS))))
    raw = dict(DEFAULTS, **given)

    url = _text(raw, "URL")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        _fail("URL", "must be gatehouse's base URL such as https://auth.example.com (got %r)" % url)
    if parts.username or parts.password:
        _fail("URL", "must not carry credentials; use CLIENT_ID and CLIENT_SECRET")
    url = url.rstrip("/")

    alg = raw["JWT_ALGORITHM"]
    if alg not in HMAC_ALGORITHMS + PUBLIC_KEY_ALGORITHMS:
        _fail("JWT_ALGORITHM", "must be one of %s (got %r)" % (", ".join(HMAC_ALGORITHMS + PUBLIC_KEY_ALGORITHMS), alg))
    key = raw["SIGNING_KEY"]
    if alg in HMAC_ALGORITHMS:
        if key is None:
            key = (getattr(django_settings, "SIMPLE_JWT", None) or {}).get("SIGNING_KEY") or getattr(django_settings, "SECRET_KEY", "")
        if not isinstance(key, str) or not key:
            _fail("SIGNING_KEY", "%s needs gatehouse's HMAC key (GATEHOUSE_JWT_SIGNING_KEY)" % alg)
    elif key is not None:
        _fail("SIGNING_KEY", "is for HS256/HS384/HS512; %s uses gatehouse's JWKS" % alg)
    else:
        key = ""

    if raw["JWT_VERIFY"] not in ("local", "introspect"):
        _fail("JWT_VERIFY", "must be 'local' or 'introspect' (got %r)" % (raw["JWT_VERIFY"],))
    if raw["USER"] not in ("remote", "local"):
        _fail("USER", "must be 'remote' or 'local' (got %r)" % (raw["USER"],))
    types = raw["JWT_HEADER_TYPES"]
    if isinstance(types, str):
        types = (types,)
    if not isinstance(types, (list, tuple)) or not types or not all(isinstance(t, str) and t and " " not in t for t in types):
        _fail("JWT_HEADER_TYPES", "must be a list of keywords such as ['Bearer'] (got %r)" % (types,))
    alias = _text(raw, "CACHE_ALIAS")
    if alias not in getattr(django_settings, "CACHES", {"default": None}):
        _fail("CACHE_ALIAS", "names no cache of the CACHES setting (got %r)" % alias)
    verify = raw["VERIFY_TLS"]
    if not isinstance(verify, (bool, str)):
        _fail("VERIFY_TLS", "must be True, False or a CA bundle path")

    return Settings(
        url=url,
        client_id=_text(raw, "CLIENT_ID"),
        client_secret=_text(raw, "CLIENT_SECRET"),
        jwt_algorithm=alg,
        signing_key=key,
        jwt_verify=raw["JWT_VERIFY"],
        jwt_audience=_text(raw, "JWT_AUDIENCE", required=False),
        jwt_issuer=_text(raw, "JWT_ISSUER", required=False),
        jwt_leeway=_number(raw, "JWT_LEEWAY"),
        user_id_claim=_text(raw, "USER_ID_CLAIM"),
        token_type_claim=_text(raw, "TOKEN_TYPE_CLAIM"),
        jti_claim=_text(raw, "JTI_CLAIM"),
        jwt_header_types=tuple(types),
        groups_claim=_text(raw, "GROUPS_CLAIM", required=False),
        permissions_claim=_text(raw, "PERMISSIONS_CLAIM", required=False),
        jwks_ttl=_number(raw, "JWKS_TTL", 1),
        jwks_min_refetch=_number(raw, "JWKS_MIN_REFETCH"),
        cache_alias=alias,
        cache_ttl=_number(raw, "CACHE_TTL"),
        negative_cache_ttl=_number(raw, "NEGATIVE_CACHE_TTL"),
        timeout=_number(raw, "TIMEOUT", 0.001),
        verify_tls=verify,
        user=raw["USER"],
        read_scope=_text(raw, "READ_SCOPE"),
        write_scope=_text(raw, "WRITE_SCOPE"),
    )
