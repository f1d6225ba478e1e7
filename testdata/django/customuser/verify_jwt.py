#!/usr/bin/python3
"""A Django service that still verifies simplejwt access tokens itself,
with the signing key it shares with gatehouse, against its own users:

    /usr/bin/python3 verify_jwt.py [--uuid] DATABASE SIGNING_KEY < tokens

reads one access token a line and prints, for each, the e-mail of the user
simplejwt's own JWTAuthentication finds for it in the project's SQLite
DATABASE (this folder's db.sqlite3, or uuid/'s with --uuid), or
"refused: " and the exception's name. cmd/gatehouse's custom-user tests
hand it the tokens gatehouse mints."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
args = sys.argv[1:]
if args[:1] == ["--uuid"]:
    os.environ["CUSTOMUSER_UUID"] = "1"
    args = args[1:]
if len(args) != 2:
    sys.exit("usage: verify_jwt.py [--uuid] DATABASE SIGNING_KEY < tokens")
sys.path.insert(0, HERE)

import django  # noqa: E402
from django.conf import settings  # noqa: E402

settings.configure(
    SECRET_KEY="verify-jwt-unused",
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "accounts"],
    AUTH_USER_MODEL="accounts.User",
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": args[0]}},
    USE_TZ=True,
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    SIMPLE_JWT={"SIGNING_KEY": args[1], "ALGORITHM": "HS256"},
)
django.setup()

from rest_framework_simplejwt.authentication import JWTAuthentication  # noqa: E402

auth = JWTAuthentication()
for line in sys.stdin:
    token = line.strip()
    if not token:
        continue
    try:
        print(auth.get_user(auth.get_validated_token(token)).email)
    except Exception as e:  # noqa: BLE001: the refusal's kind is the answer
        print("refused:", type(e).__name__)
    sys.stdout.flush()
