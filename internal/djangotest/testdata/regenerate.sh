#!/usr/bin/env bash
# Regenerates schema.sqlite.sql and schema.postgres.sql: the tables a Django
# 3.2 project with DRF's authtoken, Django OAuth Toolkit 1.7, simplejwt 5.2's
# token_blacklist and django-rest-knox 4.2 has after `manage.py migrate`,
# written by Django itself (Debian 12's packages) into a throwaway project.
#
# Debian does not package knox, so the project declares knox's model (as knox
# 4.2's migrations 0001-0009 leave it: the same columns and indexes)
# in an app labelled "knox" and lets Django write its table.
#
# Usage: internal/djangotest/testdata/regenerate.sh   (as root the first time: it
# installs the Debian packages; PostgreSQL from GATEHOUSE_TEST_POSTGRES_URL,
# default postgres://postgres@127.0.0.1:5432/test)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY=/usr/bin/python3
PKGS="python3-django python3-djangorestframework python3-django-oauth-toolkit python3-djangorestframework-simplejwt python3-psycopg2 postgresql-client"
if ! "$PY" -c 'import django, rest_framework, oauth2_provider, rest_framework_simplejwt, psycopg2' 2>/dev/null || ! command -v pg_dump >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $PKGS >/dev/null
fi
PGURL="${GATEHOUSE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
PGURL="${PGURL%%\?*}"
DB="gatehouse_djangodb_ddl_$$"
WORK="$(mktemp -d)"
trap 'psql "${PGURL%/*}/postgres" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

mkdir -p "$WORK/knox/migrations"
touch "$WORK/knox/__init__.py" "$WORK/knox/migrations/__init__.py"
cat >"$WORK/knox/models.py" <<'PYEOF'
from django.conf import settings
from django.db import models


class AuthToken(models.Model):
    digest = models.CharField(max_length=128, primary_key=True)
    created = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="auth_token_set", on_delete=models.CASCADE)
    expiry = models.DateTimeField(null=True, blank=True)
    token_key = models.CharField(max_length=25, db_index=True)
PYEOF
cat >"$WORK/settings.py" <<'PYEOF'
import os
from urllib.parse import urlsplit
SECRET_KEY = "regenerate-" * 5
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "rest_framework", "rest_framework.authtoken",
                  "oauth2_provider", "rest_framework_simplejwt.token_blacklist", "knox"]
if os.environ.get("PGURL"):
    u = urlsplit(os.environ["PGURL"])
    DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": u.path.lstrip("/"), "USER": u.username or "",
                             "PASSWORD": u.password or "", "HOST": u.hostname or "", "PORT": u.port or ""}}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["SQLITE"]}}
PYEOF
cat >"$WORK/manage.py" <<'PYEOF'
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
from django.core.management import execute_from_command_line
execute_from_command_line(sys.argv)
PYEOF
cd "$WORK"
SQLITE="$WORK/dj.sqlite3" "$PY" manage.py makemigrations knox -v0
SQLITE="$WORK/dj.sqlite3" "$PY" manage.py migrate -v0
{
  echo "-- Written by internal/djangotest/testdata/regenerate.sh from Django $("$PY" -c 'import django; print(django.get_version())')'s migrate; do not edit."
  "$PY" - "$WORK/dj.sqlite3" <<'PYEOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for (s,) in c.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' AND name != 'django_migrations' ORDER BY rowid"):
    print(s + ";")
PYEOF
} >"$HERE/schema.sqlite.sql"

psql "${PGURL%/*}/postgres" -qc "CREATE DATABASE $DB" >/dev/null
PGURL="${PGURL%/*}/$DB" "$PY" manage.py migrate -v0
{
  echo "-- Written by internal/djangotest/testdata/regenerate.sh from Django $("$PY" -c 'import django; print(django.get_version())')'s migrate (pg_dump --schema-only); do not edit."
  echo "-- Unqualified, so that it creates the tables in the first schema of the search_path."
  pg_dump --schema-only --no-owner --no-privileges --no-comments -T django_migrations -T django_migrations_id_seq "${PGURL%/*}/$DB" |
    grep -v -E '^(SET |SELECT pg_catalog.set_config|--|\\(un)?restrict)' | sed -e 's/public\.//g' | cat -s
} >"$HERE/schema.postgres.sql"
echo "wrote $HERE/schema.sqlite.sql and $HERE/schema.postgres.sql"
