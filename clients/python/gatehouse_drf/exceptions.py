"""The refusals, worded as gatehouse's own views word them (DRF's
TokenAuthentication for "Token", simplejwt's JWTAuthentication for
"Bearer"), and the answer when gatehouse cannot be asked."""

from rest_framework import exceptions, status

# The WWW-Authenticate challenge of gatehouse's 401s; a refused bearer
# token adds the invalid_token attributes.
CHALLENGE = 'Bearer realm="api"'
CHALLENGE_INVALID = CHALLENGE + ',error="invalid_token",error_description="The access token is invalid."'


class GatehouseUnavailable(exceptions.APIException):
    """gatehouse did not answer (down, too slow, or refusing this client):
    the request is answered 503, never let through."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Service temporarily unavailable, try again later."
    default_code = "authentication_unavailable"

    def __init__(self, detail=None, code=None, wait=None):
        super().__init__(detail, code)
        # DRF's exception handler sends Retry-After for an exception's wait.
        self.wait = wait


def token_failed(detail="Invalid token."):
    """DRF TokenAuthentication's refusal: {"detail": ...}."""
    return exceptions.AuthenticationFailed(detail)


def jwt_failed(reason="invalid"):
    """simplejwt JWTAuthentication's refusal for reason, as gatehouse's
    views send it."""
    if reason == "wrong_type":
        return _jwt_invalid("Token has wrong type")
    if reason == "no_jti":
        return _jwt_invalid("Token has no id")
    if reason == "no_exp":
        return _jwt_invalid("Token has no 'exp' claim")
    if reason == "no_type":
        return _jwt_invalid("Token has no type")
    if reason == "no_user_id":
        return exceptions.AuthenticationFailed({"detail": "Token contained no recognizable user identification", "code": "token_not_valid"})
    if reason == "user_not_found":
        return exceptions.AuthenticationFailed({"detail": "User not found", "code": "user_not_found"})
    if reason == "user_inactive":
        return exceptions.AuthenticationFailed({"detail": "User is inactive", "code": "user_inactive"})
    if reason == "bad_header":
        return exceptions.AuthenticationFailed(
            {"detail": "Authorization header must contain two space-delimited values", "code": "bad_authorization_header"}
        )
    return _jwt_invalid("Token is invalid or expired")


def _jwt_invalid(message):
    return exceptions.AuthenticationFailed(
        {
            "detail": "Given token not valid for any token type",
            "code": "token_not_valid",
            "messages": [{"token_class": "AccessToken", "token_type": "access", "message": message}],
        }
    )


def refused(status_code, body):
    """gatehouse's own refusal (401 or 403, its JSON body), raised as DRF's."""
    if status_code == 401:
        return exceptions.AuthenticationFailed(body)
    return exceptions.PermissionDenied(body)
