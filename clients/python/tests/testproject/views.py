from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework import generics, permissions
from rest_framework.response import Response
from rest_framework.views import APIView

from gatehouse_drf.permissions import IsAuthenticatedOrTokenHasScope, TokenHasReadWriteScope, TokenHasScope

from .serializers import UserDetailSerializer, UserSerializer

User = get_user_model()


class ExactFilter:
    """DjangoFilterBackend's exact match on filterset_fields, for a test
    machine without django-filter."""

    def filter_queryset(self, request, queryset, view):
        for f in getattr(view, "filterset_fields", ()):
            if f in request.query_params:
                queryset = queryset.filter(**{f: request.query_params[f]})
        return queryset


# The reference project's views (accounts/views.py), unchanged but for the
# filter backend.
class UserDetailView(generics.RetrieveAPIView):
    model = settings.AUTH_USER_MODEL
    serializer_class = UserDetailSerializer

    permission_classes = [permissions.IsAuthenticated]

    def get_object(self, *args, **kwargs):
        return self.request.user


class UserListCreateView(generics.ListCreateAPIView):
    permission_classes = [permissions.IsAuthenticated]
    queryset = User.objects.all().order_by("id")
    serializer_class = UserSerializer

    filter_backends = (ExactFilter,)
    filterset_fields = ("email", "username")


class WhoAmI(APIView):
    """Echoes what request.user and request.auth hold."""

    permission_classes = [permissions.IsAuthenticated]

    def get(self, request):
        u, a = request.user, request.auth
        return Response(
            {
                "id": u.id,
                "pk": u.pk,
                "username": u.username,
                "email": u.email,
                "is_staff": u.is_staff,
                "is_superuser": u.is_superuser,
                "groups": sorted(u.groups.values_list("name", flat=True)),
                "permissions": sorted(u.permissions),
                "kind": a.kind,
                "scopes": sorted(a.scopes),
                "client_id": a.client_id,
            }
        )


class StaffOnly(APIView):
    permission_classes = [permissions.IsAdminUser]

    def get(self, request):
        return Response({"ok": True})


class HasPerm(APIView):
    """200 when request.user.has_perm("auth.change_user")."""

    permission_classes = [permissions.IsAuthenticated]

    def get(self, request):
        return Response({"has_perm": request.user.has_perm("auth.change_user"), "module": request.user.has_module_perms("auth")})


class ModelPerms(generics.ListCreateAPIView):
    """DjangoModelPermissions: POST needs auth.add_user."""

    permission_classes = [permissions.DjangoModelPermissions]
    queryset = User.objects.all().order_by("id")
    serializer_class = UserSerializer


class ScopeRead(APIView):
    permission_classes = [TokenHasScope]
    required_scopes = ["read"]

    def get(self, request):
        return Response({"ok": True})


class ReadWrite(APIView):
    permission_classes = [TokenHasReadWriteScope]

    def get(self, request):
        return Response({"ok": "read"})

    def post(self, request):
        return Response({"ok": "write"})


class EitherOr(APIView):
    permission_classes = [IsAuthenticatedOrTokenHasScope]
    required_scopes = ["write"]

    def get(self, request):
        return Response({"ok": True})
