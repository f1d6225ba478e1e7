"""GatehouseAuthentication: DRF authentication by gatehouse's credentials,
in gatehouse's own order and with its own refusals."""

import base64
import re

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from rest_framework import authentication

from .client import InvalidJWT, get_client
from .exceptions import CHALLENGE, CHALLENGE_INVALID, jwt_failed, token_failed
from .user import GatehouseToken, GatehouseUser

# Longest opaque credential sent to introspection; gatehouse's OAuth tokens,
# DRF keys and knox tokens are far shorter, so a longer value is refused
# here without a call.
MAX_OPAQUE = 512
MAX_JWT = 8192

# An RFC 9068 JWT access token's header segment is short; a longer one is
# not read (gatehouse's own check reads at most 256 characters, 192 bytes).
MAX_JWT_HEADER = 256
_AT_JWT_TYP = b'"typ":"at+jwt"'
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")

_BEARER_REJECTED = "_gatehouse_bearer_rejected"

# The claim in which gatehouse gives a user's id when its user_id claim
# names the user by a Django key (jwt.IDClaim).
GATEHOUSE_USER_ID_CLAIM = "gatehouse_user_id"


def is_jwt_access_token(value):
    """True when value looks like an RFC 9068 JWT access token, as
    gatehouse's MayBeOAuthAccessToken judges one: at most MAX_JWT
    characters, a first segment of at most MAX_JWT_HEADER base64url
    characters (no padding) whose JSON says "typ":"at+jwt". Only that
    segment is decoded; no signature is checked (introspection judges the
    token)."""
    dot = value.find(".")
    if dot < 0 or dot > MAX_JWT_HEADER or len(value) > MAX_JWT:
        return False
    head = value[:dot]
    if len(head) % 4 == 1 or not _BASE64URL.fullmatch(head):
        return False
    try:
        decoded = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))
    except ValueError:
        return False
    return _AT_JWT_TYP in decoded


def _printable(value):
    # Printable ASCII; white space never reaches here (the header was split on it).
    return value.isascii() and value.isprintable() and " " not in value


class GatehouseAuthentication(authentication.BaseAuthentication):
    """Authenticates "Authorization: Bearer <jwt>", "Bearer <OAuth token>"
    and "Token <DRF or knox key>" as gatehouse's views do:

    1. "Bearer <token>" (keyword in any case) without a dot, or an RFC 9068
       JWT access token (its header's typ is at+jwt), is an OAuth token,
       introspected;
    2. a keyword of JWT_HEADER_TYPES (exactly "Bearer" by default) is
       simplejwt's: two values or bad_authorization_header, then the JWT
       verified (locally or by introspection); a value that step 1 refused
       is refused here with simplejwt's body, without verifying it;
    3. "Token <key>" (keyword in any case): DRF's TokenAuthentication, the
       key introspected.

    A refused credential raises AuthenticationFailed (401) with the body
    gatehouse sends; no credential of these schemes returns None, so DRF
    tries the next class. gatehouse unreachable raises GatehouseUnavailable
    (503). Success is (user, GatehouseToken); user is None for an OAuth
    token of a client alone (client_credentials), as DOT does."""

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", b"")
        if isinstance(header, str):
            header = header.encode("latin-1", "replace")
        # bytes.split(), as DRF and gatehouse split: on ASCII white space
        # only (str.split() would also split on U+0085 and U+00A0).
        fields = [f.decode("latin-1") for f in header.split()]
        if not fields:
            return None
        client = get_client()
        keyword = fields[0]

        oauth_refused = False
        if keyword.lower() == "bearer" and len(fields) == 2:
            value = fields[1]
            if "." not in value:
                oauth_refused = True
                got = self._opaque(request, client, value, "Bearer")
            elif is_jwt_access_token(value):
                # An RFC 9068 access token: an OAuth token like an opaque
                # one, judged by introspection (which sees its revocation).
                oauth_refused = True
                got = self._opaque(request, client, value, "Bearer", max_len=MAX_JWT)
            else:
                got = None  # a simplejwt token: DOT's step refuses it
            if got is not None:
                return got
            # gatehouse's OAuth step refused it before simplejwt's step
            # sees it, which shows in the challenge.
            setattr(request, _BEARER_REJECTED, True)

        if keyword in client.settings.jwt_header_types:
            if len(fields) != 2:
                raise jwt_failed("bad_header")
            value = fields[1]
            if oauth_refused or "." not in value or len(value) > MAX_JWT or not _printable(value):
                raise jwt_failed("invalid")
            return self._jwt(request, client, value)

        if keyword.lower() == "token":
            if len(fields) == 1:
                raise token_failed("Invalid token header. No credentials provided.")
            if len(fields) > 2:
                raise token_failed("Invalid token header. Token string should not contain spaces.")
            try:
                # DRF's TokenAuthentication decodes the key as UTF-8.
                fields[1].encode("latin-1").decode("utf-8")
            except UnicodeError:
                raise token_failed("Invalid token header. Token string should not contain invalid characters.")
            got = self._opaque(request, client, fields[1], "Token")
            if got is None:
                raise token_failed()
            return got
        return None

    def authenticate_header(self, request):
        return CHALLENGE_INVALID if getattr(request, _BEARER_REJECTED, False) else CHALLENGE

    # -- opaque credentials: introspection -----------------------------------

    def _opaque(self, request, client, value, token_type, max_len=MAX_OPAQUE):
        """(user, auth) for a credential judged by introspection that
        gatehouse says is active and of token_type ("Bearer": an OAuth
        token, opaque or an RFC 9068 JWT; "Token": a DRF or knox key); None
        when it is not. A value longer than max_len is never sent."""
        if len(value) > max_len or not _printable(value):
            return None
        answer = client.introspect(value)
        if not answer.get("active") or answer.get("token_type") != token_type:
            return None
        kind = answer.get("token_kind")
        if token_type == "Bearer" and kind != "oauth" or token_type == "Token" and kind not in ("token", "knox"):
            return None
        auth = GatehouseToken(
            kind,
            token_type,
            user_id=answer.get("user_id"),
            scope=answer.get("scope", "") if kind == "oauth" else "",
            client_id=answer.get("client_id", "") if kind == "oauth" else "",
            exp=answer.get("exp"),
            iat=answer.get("iat"),
            clock=client.clock,
        )
        if answer.get("user_id") is None:
            return (None, auth)  # a client's own token: no user, as DOT
        scheme = "token" if token_type == "Token" else "oauth"
        return (self._user(request, client, answer["user_id"], answer, scheme), auth)

    # -- simplejwt access tokens ----------------------------------------------

    def _introspected_jwt(self, request, client, value, inactive="invalid"):
        answer = client.introspect(value)
        if not answer.get("active") or answer.get("token_kind") != "jwt":
            raise jwt_failed(inactive)
        if answer.get("user_id") is None:
            raise jwt_failed("no_user_id")
        auth = GatehouseToken("jwt", "Bearer", user_id=answer.get("user_id"), exp=answer.get("exp"), iat=answer.get("iat"), clock=client.clock)
        return (self._user(request, client, answer.get("user_id"), answer, "jwt"), auth)

    def _jwt(self, request, client, value):
        s = client.settings
        if s.jwt_verify == "introspect":
            return self._introspected_jwt(request, client, value)

        try:
            claims = client.verify_jwt(value)
        except InvalidJWT as e:
            raise jwt_failed(e.reason)
        user_id = claims.get(s.user_id_claim)
        if user_id is None and s.user_id_claim in claims:
            raise jwt_failed("user_not_found")  # simplejwt looks up pk=None
        if user_id is None or isinstance(user_id, bool) or not isinstance(user_id, (int, str)):
            raise jwt_failed("no_user_id")
        django_pk = None
        if isinstance(user_id, str):
            if not user_id or len(user_id) > 255:
                raise jwt_failed("no_user_id")
            gid = claims.get(GATEHOUSE_USER_ID_CLAIM)
            if user_id.strip("0123456789") and type(gid) is int and gid > 0:
                # gatehouse names a user imported with a Django key (a
                # UUID) by that key, as Django did, and gives its id beside
                # it: the key is the project's own primary key.
                django_pk, user_id = user_id, gid
            else:
                # A Django key (a custom user model's UUID or CharField
                # key, digits too) in a token Django issued before the
                # move: only gatehouse knows which user it names now, and
                # refuses it, as its own views do, when no user has it.
                return self._introspected_jwt(request, client, value, inactive="no_user_id")
        auth = GatehouseToken("jwt", "Bearer", user_id=user_id, exp=claims.get("exp"), iat=claims.get("iat"), claims=claims, clock=client.clock)
        if s.user == "local":
            if django_pk is not None:
                return (self._local_user(django_pk, "jwt"), auth)
            if _integer_pk():
                return (self._local_user(user_id, "jwt"), auth)
            # The project's users are keyed by something else (a UUID):
            # only gatehouse knows the key of user user_id (cached).
            answer = client.introspect(value)
            if not answer.get("active") or answer.get("user_id") != user_id:
                client.profile(request.META.get("HTTP_AUTHORIZATION", ""))  # refused in gatehouse's words
                raise jwt_failed("invalid")
            return (self._local_user(_local_pk(user_id, answer), "jwt"), auth)

        fields = {}
        if s.groups_claim and isinstance(claims.get(s.groups_claim), list):
            fields["_groups"] = tuple(claims[s.groups_claim])
        if s.permissions_claim and isinstance(claims.get(s.permissions_claim), list):
            fields["_permissions"] = frozenset(claims[s.permissions_claim])

        authorization = request.META.get("HTTP_AUTHORIZATION", "")

        def identity():
            # What the token does not say, by introspecting it (cached).
            answer = client.introspect(value)
            if not answer.get("active") or answer.get("user_id") != user_id:
                # gatehouse no longer accepts it (its user is gone or was
                # deactivated, or changed password): refused now that it is
                # known, in gatehouse's words, which /api/me/ gives.
                client.profile(authorization)
                raise jwt_failed("invalid")
            return _identity_fields(answer)

        return (GatehouseUser(user_id, fields, load_identity=identity, load_profile=self._profile_loader(request, client)), auth)

    # -- users ------------------------------------------------------------------

    def _user(self, request, client, user_id, answer, scheme):
        if client.settings.user == "local":
            return self._local_user(_local_pk(user_id, answer), scheme)
        return GatehouseUser(user_id, _identity_fields(answer), load_profile=self._profile_loader(request, client))

    @staticmethod
    def _profile_loader(request, client):
        authorization = request.META.get("HTTP_AUTHORIZATION", "")

        def profile():
            body = client.profile(authorization)
            return {"first_name": body.get("first_name", ""), "last_name": body.get("last_name", "")}

        return profile

    @staticmethod
    def _local_user(user_id, scheme):
        """The project's own user row with primary key user_id (None: none),
        refused as DRF or simplejwt refuse a missing or inactive user."""
        model = get_user_model()
        try:
            if user_id is None:
                raise model.DoesNotExist
            user = model._default_manager.get(pk=user_id)
        except (model.DoesNotExist, ValueError, TypeError, ValidationError):
            raise token_failed() if scheme == "token" else jwt_failed("user_not_found")
        if not getattr(user, "is_active", True):
            raise token_failed("User inactive or deleted.") if scheme == "token" else jwt_failed("user_inactive")
        return user


def _identity_fields(answer):
    return {
        "username": answer.get("username", ""),
        "email": answer.get("email", ""),
        "is_staff": answer.get("is_staff") is True,
        "is_superuser": answer.get("is_superuser") is True,
        "_groups": tuple(answer.get("groups") or ()),
        "_permissions": frozenset(answer.get("permissions") or ()),
    }


_INTEGER_FIELDS = frozenset(
    ("AutoField", "BigAutoField", "SmallAutoField", "IntegerField", "BigIntegerField", "SmallIntegerField",
     "PositiveIntegerField", "PositiveBigIntegerField", "PositiveSmallIntegerField")
)


def _integer_pk():
    """Whether the project's user model is keyed by integers (through a
    one-to-one primary key, by its target's), so that gatehouse's user ids,
    which an import keeps, are its keys."""
    field = get_user_model()._meta.pk
    while getattr(field, "remote_field", None) is not None and getattr(field, "target_field", None) is not None:
        field = field.target_field
    return field.get_internal_type() in _INTEGER_FIELDS


def _local_pk(user_id, answer):
    """The project's primary key of gatehouse's user user_id: the Django key
    gatehouse kept when the user was imported with one that is no integer
    (introspection's django_pk), else the id itself, for a model keyed by
    integers; None (no row) for a user gatehouse made, on a model keyed by
    anything else."""
    pk = answer.get("django_pk") if answer else None
    if pk is not None:
        return pk
    return user_id if _integer_pk() else None
