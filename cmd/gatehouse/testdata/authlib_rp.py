"""A relying party written with Authlib (Debian's python3-authlib), run
against `gatehouse serve` by TestOIDCAuthlib. It is given the issuer URL
and its client credentials only; every endpoint comes from discovery.

usage: authlib_rp.py ISSUER CLIENT_ID CLIENT_SECRET USERNAME PASSWORD REDIRECT_URI
Prints "ok" and exits 0 when every step passed; any failure raises.
"""
import re
import secrets
import sys
from urllib.parse import parse_qs, urlencode, urlparse

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken
from authlib.oidc.discovery import OpenIDProviderMetadata

issuer, client_id, client_secret, username, password, redirect_uri = sys.argv[1:7]

# Discovery, checked by Authlib's own validators of the metadata, all but
# their rule that URLs be https: the test server listens on loopback http.
meta = requests.get(issuer + "/.well-known/openid-configuration", timeout=10).json()
assert meta["issuer"] == issuer, meta["issuer"]
doc = OpenIDProviderMetadata(meta)
for key in doc.REGISTRY_KEYS:
    try:
        getattr(doc, "validate_" + key)()
    except ValueError as e:
        if '"https"' not in str(e):
            raise
jwks = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())

# The user logs in on gatehouse's login page.
browser = requests.Session()
page = browser.get(issuer + "/admin/login/", timeout=10).text
csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
browser.post(issuer + "/admin/login/", data={"csrfmiddlewaretoken": csrf, "username": username, "password": password},
             allow_redirects=False, timeout=10)

# The code flow with PKCE and a nonce.
client = OAuth2Session(client_id, client_secret, scope="openid profile email", redirect_uri=redirect_uri,
                       code_challenge_method="S256")
verifier = secrets.token_urlsafe(48)
nonce = secrets.token_urlsafe(16)
url, state = client.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
res = browser.get(url, allow_redirects=False, timeout=10)
assert res.status_code == 302, (res.status_code, res.text)
back = res.headers["Location"]
assert parse_qs(urlparse(back).query)["state"] == [state], back
token = client.fetch_token(meta["token_endpoint"], authorization_response=back, code_verifier=verifier)


def verify(id_token, access_token, nonce=None):
    claims = jwt.decode(id_token, jwks, claims_cls=CodeIDToken,
                        claims_options={"iss": {"essential": True, "value": issuer}},
                        claims_params={"nonce": nonce, "client_id": client_id, "access_token": access_token})
    claims.validate(leeway=5)
    return claims


claims = verify(token["id_token"], token["access_token"], nonce)
assert claims["nonce"] == nonce and claims["aud"] == client_id and claims["email"], dict(claims)

info = client.get(meta["userinfo_endpoint"]).json()
assert info["sub"] == claims["sub"] and info["preferred_username"] == username, info

refreshed = client.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
again = verify(refreshed["id_token"], refreshed["access_token"])
assert again["sub"] == claims["sub"] and "nonce" not in again, dict(again)

# Revocation: the token stops working on userinfo.
res = client.revoke_token(meta["revocation_endpoint"], token=refreshed["access_token"], token_type_hint="access_token")
assert res.status_code == 200, (res.status_code, res.text)
res = requests.get(meta["userinfo_endpoint"], headers={"Authorization": "Bearer " + refreshed["access_token"]}, timeout=10)
assert res.status_code == 401, res.status_code

# RP-initiated logout back to the registered URI; the session is over.
query = urlencode({"id_token_hint": token["id_token"], "post_logout_redirect_uri": "https://rp.example/bye", "state": "s"})
res = browser.get(meta["end_session_endpoint"] + "?" + query, allow_redirects=False, timeout=10)
assert res.status_code == 302 and res.headers["Location"] == "https://rp.example/bye?state=s", (res.status_code, res.headers)
res = browser.get(url, allow_redirects=False, timeout=10)
assert "/admin/login/" in res.headers.get("Location", ""), res.headers
print("ok")
