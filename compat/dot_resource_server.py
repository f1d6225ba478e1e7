#!/usr/bin/python3
"""A team's other Django service that checks its callers' tokens with Django
OAuth Toolkit's own resource-server mode (RESOURCE_SERVER_INTROSPECTION_URL:
every unknown token is introspected at the authorization server) pointed at
a running gatehouse instead of the DOT server it replaced. Debian's
python3-django, python3-djangorestframework and python3-django-oauth-toolkit.

    /usr/bin/python3 compat/dot_resource_server.py --base http://127.0.0.1:8000

The server must hold the reference fixture (gatehouse loaddata
shared/reference/django-dumpdata.json): alice/alicepass and conf-client /
conf-secret (confidential, password grant). The service runs in this
process (Django's test client) on an in-memory database. Prints one line per
check and a final 'N passed, M failed'; exits 1 on any failure.
"""
import argparse
import logging
import sys

import django
import requests
from django.conf import settings

results = []


def check(name, cond, detail=""):
    results.append(bool(cond))
    print("%s %s%s" % ("ok  " if cond else "FAIL", name, (": " + detail) if detail and not cond else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="gatehouse base URL")
    ap.add_argument("--client-id", default="conf-client")
    ap.add_argument("--client-secret", default="conf-secret")
    ap.add_argument("--username", default="alice")
    ap.add_argument("--password", default="alicepass")
    args = ap.parse_args()
    base = args.base.rstrip("/")

    settings.configure(
        SECRET_KEY="resource-server-test-only-" + "x" * 30,
        ALLOWED_HOSTS=["testserver"],
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "rest_framework", "oauth2_provider"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        ROOT_URLCONF=__name__,
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        MIDDLEWARE=[],
        OAUTH2_PROVIDER={
            "RESOURCE_SERVER_INTROSPECTION_URL": base + "/o/introspect/",
            "RESOURCE_SERVER_INTROSPECTION_CREDENTIALS": (args.client_id, args.client_secret),
        },
        REST_FRAMEWORK={"DEFAULT_AUTHENTICATION_CLASSES": ["oauth2_provider.contrib.rest_framework.OAuth2Authentication"]},
    )
    django.setup()
    logging.getLogger("oauth2_provider").setLevel(logging.CRITICAL)  # DOT logs a refused introspection as an exception

    from django.core.management import call_command
    from django.test import Client
    from django.urls import path
    from oauth2_provider.contrib.rest_framework import TokenHasScope
    from oauth2_provider.settings import oauth2_settings
    from rest_framework.response import Response
    from rest_framework.views import APIView

    class Reading(APIView):
        permission_classes = [TokenHasScope]
        required_scopes = ["read"]

        def get(self, request):
            return Response({"username": request.user.username if request.user else None})

    class Writing(Reading):
        required_scopes = ["write"]

    global urlpatterns
    urlpatterns = [path("read/", Reading.as_view()), path("write/", Writing.as_view())]
    call_command("migrate", verbosity=0)
    service = Client()

    def token(scope=None):
        data = {"grant_type": "password", "username": args.username, "password": args.password}
        if scope:
            data["scope"] = scope
        r = requests.post(base + "/o/token/", data=data, auth=(args.client_id, args.client_secret), timeout=10)
        r.raise_for_status()
        return r.json()["access_token"]

    def get(view, access):
        return service.get("/%s/" % view, HTTP_AUTHORIZATION="Bearer " + access)

    full = token()
    r = get("read", full)
    check("a gatehouse token is taken by DOT's introspection", r.status_code == 200 and r.json().get("username") == args.username,
          "%d %s" % (r.status_code, r.content[:200]))
    check("its scope grants the write view", get("write", full).status_code == 200)
    read_only = token("read")
    check("a read token reads", get("read", read_only).status_code == 200)
    r = get("write", read_only)
    check("a read token is refused the write view (403)", r.status_code == 403, "%d %s" % (r.status_code, r.content[:200]))
    check("an unknown token is refused (401)", get("read", "x" * 30).status_code == 401)
    revoked = token()
    r = requests.post(base + "/o/revoke_token/", data={"token": revoked}, auth=(args.client_id, args.client_secret), timeout=10)
    check("gatehouse revokes", r.status_code == 200, "%d %s" % (r.status_code, r.text[:200]))
    check("a token revoked before its first use is refused (401)", get("read", revoked).status_code == 401)
    # Wrong introspection credentials: gatehouse refuses the introspection,
    # so the service takes no token.
    oauth2_settings.RESOURCE_SERVER_INTROSPECTION_CREDENTIALS = (args.client_id, "wrong-secret")
    r = get("read", token())
    check("with wrong introspection credentials the token is refused (401)", r.status_code == 401, "%d" % r.status_code)

    failed = results.count(False)
    print("%d passed, %d failed" % (len(results) - failed, failed))
    return 1 if failed else 0


urlpatterns = []

if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # an unexpected error is a failure, not a traceback only
        print("FAIL unexpected %s: %s" % (type(e).__name__, e))
        sys.exit(1)
