#!/usr/bin/python3
"""Writes dump.json, dump-natural.json, db.sqlite3 and credentials.json: the data of a
Django 3.2 project whose users are a custom user model (accounts.User, the
e-mail as USERNAME_FIELD), made through Django's, DRF's, simplejwt's and
Django OAuth Toolkit's own APIs and views on Debian 12's packages.

    /usr/bin/python3 generate.py          (from this folder; rewrites the files)
    /usr/bin/python3 generate.py --uuid   the same with a UUID primary key, into uuid/
    /usr/bin/python3 generate.py [--uuid] --database URL --out DIR
                                          the database in PostgreSQL or MySQL at URL
                                          (postgres://...?search_path=SCHEMA or mysql://..., empty),
                                          the dumps and credentials.json into DIR

THROWAWAY TEST CREDENTIALS ONLY: every password, key, token and secret
written here is published on purpose and protects nothing. Unlike the main
corpus (../regen.sh), a rerun writes other salts, keys and tokens.
"""
import base64
import datetime
import io
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = HERE
args = sys.argv[1:]
if args[:1] == ["--uuid"]:
    os.environ["CUSTOMUSER_UUID"] = "1"
    OUT = os.path.join(HERE, "uuid")
    args = args[1:]
WORK = tempfile.mkdtemp()
DATABASE = {"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(WORK, "db.sqlite3")}
if args:
    if len(args) != 4 or args[0] != "--database" or args[2] != "--out":
        sys.exit("usage: generate.py [--uuid] [--database URL --out DIR]")
    # The main corpus's settings read a database URL the same way.
    sys.path.insert(0, os.path.dirname(HERE))
    from corpusproject.settings import _database  # noqa: E402
    DATABASE, OUT = _database(args[1]), args[3]
os.makedirs(OUT, exist_ok=True)
# The app is copied so that makemigrations writes into the copy.
shutil.copytree(os.path.join(HERE, "accounts"), os.path.join(WORK, "accounts"))
sys.path.insert(0, WORK)

import django  # noqa: E402
from django.conf import settings  # noqa: E402

FAR = datetime.timedelta(days=36500)
settings.configure(
    SECRET_KEY="customuser-throwaway-secret-key-do-not-reuse-4b1d",
    DEBUG=False,
    ALLOWED_HOSTS=["testserver"],
    INSTALLED_APPS=[
        "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
        "rest_framework", "rest_framework.authtoken", "rest_framework_simplejwt.token_blacklist",
        "oauth2_provider", "accounts",
    ],
    MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware",
                "django.contrib.auth.middleware.AuthenticationMiddleware"],
    AUTH_USER_MODEL="accounts.User",
    DATABASES={"default": DATABASE},
    ROOT_URLCONF=__name__,
    USE_TZ=True,
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher",
                      "django.contrib.auth.hashers.Argon2PasswordHasher"],
    REST_FRAMEWORK={"DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework_simplejwt.authentication.JWTAuthentication"]},
    SIMPLE_JWT={"ACCESS_TOKEN_LIFETIME": FAR, "REFRESH_TOKEN_LIFETIME": FAR,
                "ROTATE_REFRESH_TOKENS": True, "BLACKLIST_AFTER_ROTATION": True},
    OAUTH2_PROVIDER={"SCOPES": {"read": "Read scope", "write": "Write scope"},
                     "ACCESS_TOKEN_EXPIRE_SECONDS": int(FAR.total_seconds())},
)
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.auth.models import Group, Permission  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import path  # noqa: E402
from oauth2_provider.models import Application  # noqa: E402
from oauth2_provider.views import TokenView  # noqa: E402
from rest_framework.authtoken import views as authtoken_views  # noqa: E402
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView  # noqa: E402

urlpatterns = [
    path("o/token/", TokenView.as_view()),
    path("api-token-auth/", authtoken_views.obtain_auth_token),
    path("access-token/", TokenObtainPairView.as_view()),
    path("access-token/refresh/", TokenRefreshView.as_view()),
]

call_command("makemigrations", "accounts", verbosity=0)
call_command("migrate", verbosity=0)
User = get_user_model()

# e-mail, password, hasher, attributes. Throwaway test passwords.
USERS = [
    ("ada@example.com", "ada-Custom#2026", "pbkdf2_sha256", dict(display_name="Ada", is_staff=True, is_superuser=True)),
    ("bob@example.com", "bob-Custom#2026", "argon2", dict(display_name="Bob")),
    ("zoë@example.org", "zoë-Custom#2026", "pbkdf2_sha256", dict()),
    ("gone@example.com", "gone-Custom#2026", "pbkdf2_sha256", dict(is_active=False)),
]
editors = Group.objects.create(name="editors")
editors.permissions.add(Permission.objects.get(codename="view_user", content_type__app_label="accounts"))
for email, password, hasher, extra in USERS:
    u = User(email=email, **extra)
    u.password = make_password(password, hasher=hasher)
    u.save()
User.objects.get(email="bob@example.com").groups.add(editors)

app = Application(name="mobile", client_id="custom-mobile", client_type=Application.CLIENT_CONFIDENTIAL,
                  authorization_grant_type=Application.GRANT_PASSWORD, client_secret="custom-mobile-secret-throwaway")
app.save()
# A client whose secret Django OAuth Toolkit 2+ would store hashed
# (hash_client_secret, on by default since DOT 2.0): DOT 1.7, Debian's,
# keeps it in clear, so the dumps and the database get what DOT 2's
# ClientSecretField.pre_save writes, make_password(secret), below.
HASHED_SECRET = "custom-service-secret-throwaway"
service = Application(name="service", client_id="custom-service", client_type=Application.CLIENT_CONFIDENTIAL,
                      authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS, client_secret=HASHED_SECRET)
service.save()
hashed_secret = make_password(HASHED_SECRET)

client = Client()
creds = {"secret_key": settings.SECRET_KEY, "client_id": app.client_id,
         "client_secret": "custom-mobile-secret-throwaway",
         "hashed_client_id": service.client_id, "hashed_client_secret": HASHED_SECRET, "users": []}
basic = "Basic " + base64.b64encode(b"custom-mobile:custom-mobile-secret-throwaway").decode()
for email, password, hasher, extra in USERS:
    entry = {"email": email, "password": password, "is_active": extra.get("is_active", True)}
    if entry["is_active"]:
        r = client.post("/api-token-auth/", {"username": email, "password": password})
        assert r.status_code == 200, r.content
        entry["drf_token"] = r.json()["token"]
        r = client.post("/access-token/", {"email": email, "password": password})
        assert r.status_code == 200, r.content
        entry["jwt_refresh"] = r.json()["refresh"]
        entry["jwt_access"] = r.json()["access"]
        r = client.post("/o/token/", {"grant_type": "password", "username": email, "password": password, "scope": "read"},
                        HTTP_AUTHORIZATION=basic)
        assert r.status_code == 200, r.content
        entry["oauth_access"] = r.json()["access_token"]
        entry["oauth_refresh"] = r.json()["refresh_token"]
    creds["users"].append(entry)

models = ["contenttypes", "auth.permission", "accounts", "auth.group", "authtoken", "token_blacklist", "oauth2_provider"]
for name, extra in [("dump.json", {}), ("dump-natural.json", {"use_natural_foreign_keys": True})]:
    out = io.StringIO()
    call_command("dumpdata", *models, indent=1, stdout=out, **extra)
    objs = json.loads(out.getvalue())
    for o in objs:
        if o["model"] == "oauth2_provider.application" and o["fields"]["client_id"] == service.client_id:
            o["fields"]["client_secret"] = hashed_secret
            o["fields"]["hash_client_secret"] = True
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(objs, f, indent=1, ensure_ascii=False)
        f.write("\n")
with open(os.path.join(OUT, "credentials.json"), "w") as f:
    json.dump(creds, f, indent=1, ensure_ascii=False)
    f.write("\n")
from django.db import connection  # noqa: E402
with connection.cursor() as c:
    c.execute("ALTER TABLE oauth2_provider_application ADD COLUMN hash_client_secret boolean NOT NULL DEFAULT false")
    c.execute("UPDATE oauth2_provider_application SET client_secret = %s, hash_client_secret = %s WHERE client_id = %s",
              [hashed_secret, True, service.client_id])
connection.close()
if DATABASE["ENGINE"].endswith("sqlite3"):
    shutil.copyfile(os.path.join(WORK, "db.sqlite3"), os.path.join(OUT, "db.sqlite3"))
shutil.rmtree(WORK)
print("generate: wrote the dumps and credentials.json into " + OUT)
