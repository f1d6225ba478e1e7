#!/usr/bin/python3
"""Writes dump.json and db.sqlite3: the data of a Django 3.2 project whose
Django OAuth Toolkit models are its own (app clients, each extending DOT
1.7's abstract model with a field of its own; the OAUTH2_PROVIDER_*_MODEL
settings name them), made through Django's and DOT's own models on Debian
12's packages (python3-django, python3-django-oauth-toolkit).

    /usr/bin/python3 generate.py          (from anywhere; rewrites the files)

The tables are made from the models (migrate --run-syncdb): DOT's own
migrations cannot run with every model swapped in a project without
migrations of its own. A rerun writes other hashes and times.

THROWAWAY TEST CREDENTIALS ONLY: every password, token and secret written
here is published on purpose and protects nothing.
"""
import datetime
import io
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = tempfile.mkdtemp()
shutil.copytree(os.path.join(HERE, "clients"), os.path.join(WORK, "clients"))
sys.path.insert(0, WORK)

import django  # noqa: E402
from django.conf import settings  # noqa: E402

settings.configure(
    SECRET_KEY="swappeddot-throwaway-secret-key-do-not-reuse-77c1",
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "oauth2_provider", "clients"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(WORK, "db.sqlite3")}},
    USE_TZ=True,
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    OAUTH2_PROVIDER_APPLICATION_MODEL="clients.Application",
    OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL="clients.AccessToken",
    OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL="clients.RefreshToken",
    OAUTH2_PROVIDER_GRANT_MODEL="clients.Grant",
    OAUTH2_PROVIDER_ID_TOKEN_MODEL="clients.IDToken",
    MIGRATION_MODULES={"oauth2_provider": None, "clients": None},
    PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"],
)
django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402
from oauth2_provider.models import (get_access_token_model, get_application_model,  # noqa: E402
                                    get_grant_model, get_refresh_token_model)

call_command("migrate", run_syncdb=True, verbosity=0)
App, AT, RT, Grant = get_application_model(), get_access_token_model(), get_refresh_token_model(), get_grant_model()
ann = User.objects.create_user("ann", password="annpass-0123456")
app = App.objects.create(client_id="mobile", client_secret="mobile-secret-0123456789", client_type="confidential",
                         authorization_grant_type="password", name="m", logo="logos/m.png", user=None)
far = timezone.now() + datetime.timedelta(days=3650)
Grant.objects.create(user=ann, code="real-code-abcdefghijklmnopqrst", application=app, expires=far,
                     redirect_uri="https://app.example.com/cb", scope="read")
at = AT.objects.create(user=ann, token="real-access-abcdefghijklmnopqrs", application=app, expires=far, scope="read write")
RT.objects.create(user=ann, token="real-refresh-abcdefghijklmnopqr", application=app, access_token=at)
RT.objects.create(user=ann, token="real-revoked-abcdefghijklmnopqr", application=app, access_token=None, revoked=timezone.now())

out = io.StringIO()
call_command("dumpdata", "auth.user", "clients", stdout=out, indent=1)
with open(os.path.join(HERE, "dump.json"), "w") as f:
    f.write(out.getvalue())
from django.db import connection  # noqa: E402
connection.close()
shutil.copy(os.path.join(WORK, "db.sqlite3"), os.path.join(HERE, "db.sqlite3"))
shutil.rmtree(WORK)
