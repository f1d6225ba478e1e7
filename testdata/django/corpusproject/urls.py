from django.contrib import admin
from django.urls import include, path
from rest_framework import generics, permissions, serializers
from rest_framework.authtoken import views as authtoken_views
from rest_framework_simplejwt.views import (
    TokenBlacklistView,
    TokenObtainPairView,
    TokenRefreshView,
    TokenVerifyView,
)
from django.contrib.auth import get_user_model


class MeSerializer(serializers.ModelSerializer):
    class Meta:
        model = get_user_model()
        fields = ("id", "username", "email", "first_name", "last_name")


class MeView(generics.RetrieveAPIView):
    serializer_class = MeSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_object(self):
        return self.request.user


urlpatterns = [
    path("admin/", admin.site.urls),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("api-token-auth/", authtoken_views.obtain_auth_token),
    path("access-token/", TokenObtainPairView.as_view()),
    path("access-token/refresh/", TokenRefreshView.as_view()),
    path("access-token/verify/", TokenVerifyView.as_view()),
    path("access-token/blacklist/", TokenBlacklistView.as_view()),
    path("api/me/", MeView.as_view()),
]
