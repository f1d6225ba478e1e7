"""Django OAuth Toolkit's DRF permission classes, by the same names and
with the same rules, reading the scopes gatehouse's introspection gave.

A view moving off DOT changes its import
(oauth2_provider.contrib.rest_framework -> gatehouse_drf.permissions) and
nothing else. One difference: DOT fails an assertion (500) when
TokenHasScope meets a credential that is not an OAuth token; these deny
it (403)."""

from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated

from .client import get_client
from .user import GatehouseToken


def _oauth_token(request):
    token = request.auth
    if isinstance(token, GatehouseToken) and token.kind == "oauth":
        return token
    return None


class TokenHasScope(BasePermission):
    """The request's OAuth token holds every scope of view.required_scopes
    (and has not expired)."""

    def has_permission(self, request, view):
        token = _oauth_token(request)
        if token is None:
            return False
        return token.is_valid(self.get_scopes(request, view))

    def get_scopes(self, request, view):
        try:
            return getattr(view, "required_scopes")
        except AttributeError:
            raise ImproperlyConfigured("TokenHasScope requires the view to define the required_scopes attribute")


class TokenHasReadWriteScope(TokenHasScope):
    """TokenHasScope with READ_SCOPE added for safe methods and WRITE_SCOPE
    for the others; required_scopes is optional."""

    def get_scopes(self, request, view):
        try:
            required = list(super().get_scopes(request, view))
        except ImproperlyConfigured:
            required = []
        s = get_client().settings
        return required + [s.read_scope if request.method.upper() in SAFE_METHODS else s.write_scope]


class IsAuthenticatedOrTokenHasScope(BasePermission):
    """A user authenticated by anything but an OAuth token, or an OAuth
    token holding the view's required_scopes."""

    def has_permission(self, request, view):
        authenticated = IsAuthenticated().has_permission(request, view)
        by_oauth = authenticated and _oauth_token(request) is not None
        return (authenticated and not by_oauth) or TokenHasScope().has_permission(request, view)
