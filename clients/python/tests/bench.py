"""The cost of GatehouseAuthentication.authenticate per request, in
microseconds, against PyJWT's decode alone (the floor for a JWT):
python3 bench.py [calls per run, default 2000]. Five runs each; prints
the minimum, median and maximum. Introspection answers come from the
cache (the fake gatehouse answers the first call of each token only)."""

import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]
os.environ["DJANGO_SETTINGS_MODULE"] = "testproject.settings"

import django  # noqa: E402

django.setup()

import jwt  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from django.test import override_settings  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.test import APIRequestFactory  # noqa: E402

from fakegatehouse import FakeGatehouse  # noqa: E402
from gatehouse_drf.authentication import GatehouseAuthentication  # noqa: E402
from gatehouse_drf.client import get_client  # noqa: E402
from test_unit import ALICE, HS_KEY, at_jwt, make_jwt, oauth_answer  # noqa: E402


def runs(fn, n, repeat=5):
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        out.append((time.perf_counter() - t) / n * 1e6)
    return out


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    fake = FakeGatehouse()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "k1", "alg": "RS256"})
    fake.jwks = {"keys": [jwk]}
    fake.answers["k1"] = ALICE
    fake.answers["o1"] = oauth_answer("read write")
    hs, rs = make_jwt(), make_jwt(key=key, alg="RS256", kid="k1")
    at = at_jwt()
    fake.answers[at] = oauth_answer("read write")
    factory = APIRequestFactory()
    auth = GatehouseAuthentication()

    def request(header):
        r = Request(factory.get("/", HTTP_AUTHORIZATION=header))
        return lambda: auth.authenticate(r)

    base = {"URL": fake.url, "CLIENT_ID": "api", "CLIENT_SECRET": "s3cret"}
    rows = []
    with override_settings(GATEHOUSE_DRF=dict(base, SIGNING_KEY=HS_KEY)):
        rows.append(("PyJWT decode alone, HS256", runs(lambda: jwt.decode(hs, HS_KEY, algorithms=["HS256"]), n)))
        rows.append(("Bearer JWT, HS256", runs(request("Bearer " + hs), n)))
        rows.append(("Token key, cached introspection", runs(request("Token k1"), n)))
        rows.append(("Bearer OAuth token, cached introspection", runs(request("Bearer o1"), n)))
        rows.append(("Bearer at+jwt token, cached introspection", runs(request("Bearer " + at), n)))
    with override_settings(GATEHOUSE_DRF=dict(base, JWT_ALGORITHM="RS256")):
        get_client()
        rows.append(("PyJWT decode alone, RS256", runs(lambda: jwt.decode(rs, key.public_key(), algorithms=["RS256"]), n)))
        rows.append(("Bearer JWT, RS256 (JWKS cached)", runs(request("Bearer " + rs), n)))
    fake.close()
    print("%-42s %8s %8s %8s  (us per call, %d calls x 5 runs)" % ("path", "min", "median", "max", n))
    for name, r in rows:
        print("%-42s %8.1f %8.1f %8.1f" % (name, min(r), statistics.median(r), max(r)))


if __name__ == "__main__":
    main()
