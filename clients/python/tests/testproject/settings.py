"""A small Django project for gatehouse_drf's tests: the reference project's
UserDetailView and UserListCreateView (IsAuthenticated) and a few views
with other permission classes, all behind GatehouseAuthentication. The
tests point GATEHOUSE_DRF at a fake gatehouse (test_unit) or a real one
(test_gatehouse) with override_settings."""

SECRET_KEY = "gatehouse-drf-tests-not-a-secret-0123456789abcdef"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "gatehouse_drf",
    "testproject",
]
MIDDLEWARE = []
ROOT_URLCONF = "testproject.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
# The test database's tables straight from the models: quicker than running
# auth's twelve migrations for each run.
MIGRATION_MODULES = {"auth": None, "contenttypes": None}
# Local memory on a clock the unit tests can move (real time otherwise).
CACHES = {"default": {"BACKEND": "clockcache.ClockCache"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
REST_FRAMEWORK = {
    # The one line a project changes: gatehouse's credentials in place of
    # DOT's, simplejwt's and DRF's authentication classes.
    "DEFAULT_AUTHENTICATION_CLASSES": ["gatehouse_drf.authentication.GatehouseAuthentication"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Replaced by each test class; a valid value so that the app's start check passes.
GATEHOUSE_DRF = {"URL": "http://127.0.0.1:9", "CLIENT_ID": "api", "CLIENT_SECRET": "unused"}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "loggers": {"gatehouse_drf": {"handlers": ["null"], "propagate": False}, "django.request": {"handlers": ["null"], "propagate": False}},
}
