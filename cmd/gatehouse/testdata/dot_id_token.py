"""Signs an id_token the way Django OAuth Toolkit does, with DOT's own code.

Usage: dot_id_token.py KEY.pem ISSUER CLIENT_ID SUB

The key is OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"] of a minimal Django
project; Application.jwk_key (DOT's model) reads it, and the token is made
as OAuth2Validator.finalize_id_token makes it: a header with typ, alg and
the key's thumbprint as kid, signed with jwcrypto. Prints the kid, then the
token, each on a line.
"""
import json
import sys
import time
import uuid

import django
from django.conf import settings

key_path, issuer, client_id, sub = sys.argv[1:5]
with open(key_path) as f:
    pem = f.read()
settings.configure(
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "oauth2_provider"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    OAUTH2_PROVIDER={"OIDC_ENABLED": True, "OIDC_RSA_PRIVATE_KEY": pem},
    USE_TZ=True,
)
django.setup()

from jwcrypto import jwt  # noqa: E402
from oauth2_provider.models import Application  # noqa: E402

app = Application(client_id=client_id, algorithm=Application.RS256_ALGORITHM)
key = app.jwk_key
now = int(time.time())
claims = {"iss": issuer, "aud": client_id, "sub": sub, "iat": now, "exp": now + 36000, "auth_time": now, "jti": str(uuid.uuid4())}
header = {"typ": "JWT", "alg": app.algorithm, "kid": key.thumbprint()}
token = jwt.JWT(header=json.dumps(header), claims=json.dumps(claims))
token.make_signed_token(key)
print(key.thumbprint())
print(token.serialize())
