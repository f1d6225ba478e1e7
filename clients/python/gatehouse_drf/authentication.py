"""GatehouseAuthentication: DRF authentication by gatehouse's credentials,
in gatehouse's own order and with its own refusals."""

from django.contrib.auth import get_user_model
from rest_framework import authentication

from .client import InvalidJWT, get_client
from .exceptions import CHALLENGE, CHALLENGE_INVALID, jwt_failed, token_failed
from .user import GatehouseToken, GatehouseUser

# Longest opaque credential sent to introspection; gatehouse's OAuth tokens,
# DRF keys and knox tokens are far shorter, so a longer value is refused
# here without a call.
MAX_OPAQUE = 512
MAX_JWT = 8192

_BEARER_REJECTED = "_gatehouse_bearer_rejected"


def _printable(value):
    # Printable ASCII; white space never reaches here (the header was split on it).
    return value.isascii() and value.isprintable() and " " not in value


class GatehouseAuthentication(authentication.BaseAuthentication):
    """Authenticates "Authorization: Bearer <jwt>", "Bearer <OAuth token>"
    and "Token <DRF or knox key>" as gatehouse's views do:

    1. "Bearer <token>" (keyword in any case) without a dot is an OAuth
       token, introspected;
    2. a keyword of JWT_HEADER_TYPES (exactly "Bearer" by default) is
       simplejwt's: two values or bad_authorization_header, then the JWT
       verified (locally or by introspection); a value that step 1 refused
       is refused here with simplejwt's body;
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

        if keyword.lower() == "bearer" and len(fields) == 2 and "." not in fields[1]:
            got = self._opaque(request, client, fields[1], "Bearer")
            if got is not None:
                return got
            setattr(request, _BEARER_REJECTED, True)
        elif keyword.lower() == "bearer" and len(fields) == 2:
            # A JWT: gatehouse's OAuth step refuses it before simplejwt's
            # step sees it, which shows in the challenge.
            setattr(request, _BEARER_REJECTED, True)

        if keyword in client.settings.jwt_header_types:
            if len(fields) != 2:
                raise jwt_failed("bad_header")
            value = fields[1]
            if "." not in value or len(value) > MAX_JWT or not _printable(value):
                raise jwt_failed("invalid")
            return self._jwt(request, client, value)

        if keyword.lower() == "token":
            if len(fields) == 1:
                raise token_failed("Invalid token header. No credentials provided.")
            if len(fields) > 2:
                raise token_failed("Invalid token header. Token string should not contain spaces.")
            got = self._opaque(request, client, fields[1], "Token")
            if got is None:
                raise token_failed()
            return got
        return None

    def authenticate_header(self, request):
        return CHALLENGE_INVALID if getattr(request, _BEARER_REJECTED, False) else CHALLENGE

    # -- opaque credentials: introspection -----------------------------------

    def _opaque(self, request, client, value, token_type):
        """(user, auth) for an opaque credential gatehouse says is active and
        of token_type ("Bearer": an OAuth token; "Token": a DRF or knox
        key); None when it is not."""
        if len(value) > MAX_OPAQUE or not _printable(value):
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

    def _jwt(self, request, client, value):
        s = client.settings
        if s.jwt_verify == "introspect":
            answer = client.introspect(value)
            if not answer.get("active") or answer.get("token_kind") != "jwt":
                raise jwt_failed("invalid")
            if answer.get("user_id") is None:
                raise jwt_failed("no_user_id")
            auth = GatehouseToken("jwt", "Bearer", user_id=answer.get("user_id"), exp=answer.get("exp"), iat=answer.get("iat"), clock=client.clock)
            return (self._user(request, client, answer.get("user_id"), answer, "jwt"), auth)

        try:
            claims = client.verify_jwt(value)
        except InvalidJWT as e:
            raise jwt_failed(e.reason)
        user_id = claims.get(s.user_id_claim)
        if user_id is None or isinstance(user_id, bool) or not isinstance(user_id, (int, str)):
            raise jwt_failed("no_user_id")
        if isinstance(user_id, str):
            try:
                user_id = int(user_id)
            except ValueError:
                raise jwt_failed("no_user_id")
        auth = GatehouseToken("jwt", "Bearer", user_id=user_id, exp=claims.get("exp"), iat=claims.get("iat"), claims=claims, clock=client.clock)
        if s.user == "local":
            return (self._local_user(user_id, "jwt"), auth)

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
            return self._local_user(user_id, scheme)
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
        """The project's own user row with primary key user_id, refused as
        DRF or simplejwt refuse a missing or inactive user."""
        model = get_user_model()
        try:
            user = model._default_manager.get(pk=user_id)
        except (model.DoesNotExist, ValueError, TypeError):
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
