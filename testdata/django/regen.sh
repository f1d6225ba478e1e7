#!/usr/bin/env bash
# Regenerates the Django corpus (THROWAWAY TEST CREDENTIALS; see README.md).
#
#   ./regen.sh                  rebuild corpus/: a fresh SQLite database made by
#                               Django, every dump format, settings.json and
#                               credentials.json (a rerun writes the same bytes)
#   ./regen.sh --postgres URL   make the same Django database in PostgreSQL at
#                               URL (postgres://user@host:port/db, optionally
#                               ?search_path=SCHEMA); the database or schema must
#                               be empty. Nothing in corpus/ changes, and the
#                               credentials in corpus/credentials.json hold for it.
#   ./regen.sh --mysql URL      the same in MySQL or MariaDB at URL
#                               (mysql://user[:password]@host[:port]/db, an empty
#                               database), through Debian's python3-mysqldb.
#
# Uses Debian 12's packages through /usr/bin/python3 (not a pyenv or venv
# python), installing them with apt-get when missing (needs root).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1 PYTHONHASHSEED=0 DJANGO_SETTINGS_MODULE=corpusproject.settings

MODE=sqlite
case "${1:-}" in
  "") ;;
  --postgres)
    [ $# -eq 2 ] || { echo "usage: $0 [--postgres URL]" >&2; exit 2; }
    MODE=postgres URL="$2" ;;
  --mysql)
    [ $# -eq 2 ] || { echo "usage: $0 [--postgres URL | --mysql URL]" >&2; exit 2; }
    MODE=mysql URL="$2" ;;
  *) echo "usage: $0 [--postgres URL | --mysql URL]" >&2; exit 2 ;;
esac

PKGS="python3-django python3-djangorestframework python3-djangorestframework-simplejwt \
python3-django-oauth-toolkit python3-argon2 python3-bcrypt python3-psycopg2"
if ! "$PY" -c 'import django, rest_framework, rest_framework_simplejwt, oauth2_provider, argon2, bcrypt, psycopg2' 2>/dev/null; then
  echo "regen: installing Debian packages: $PKGS" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq $PKGS >/dev/null
fi

# PyYAML writes the corpus's YAML dumps (SQLite mode only).
if [ "$MODE" = sqlite ] && ! "$PY" -c 'import yaml' 2>/dev/null; then
  echo "regen: installing Debian package: python3-yaml" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq python3-yaml >/dev/null
fi

if [ "$MODE" = mysql ] && ! "$PY" -c 'import MySQLdb' 2>/dev/null; then
  echo "regen: installing Debian package: python3-mysqldb" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq python3-mysqldb >/dev/null
fi

if [ "$MODE" != sqlite ]; then
  CORPUS_DATABASE="$URL" exec "$PY" -W ignore::DeprecationWarning "$HERE/generate.py" --database-only
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
CORPUS_DATABASE="$TMP/db.sqlite3" "$PY" -W ignore::DeprecationWarning "$HERE/generate.py" --out "$TMP"
mkdir -p "$HERE/corpus"
rm -f "$HERE"/corpus/*
mv "$TMP"/* "$HERE/corpus/"
echo "regen: wrote $HERE/corpus ($(du -sh "$HERE/corpus" | cut -f1))"
