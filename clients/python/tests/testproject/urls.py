from django.urls import path

from . import views

urlpatterns = [
    path("api/me/", views.UserDetailView.as_view()),
    path("api/users/", views.UserListCreateView.as_view()),
    path("whoami/", views.WhoAmI.as_view()),
    path("staff/", views.StaffOnly.as_view()),
    path("perm/", views.HasPerm.as_view()),
    path("model-perms/", views.ModelPerms.as_view()),
    path("scope-read/", views.ScopeRead.as_view()),
    path("read-write/", views.ReadWrite.as_view()),
    path("either/", views.EitherOr.as_view()),
]
