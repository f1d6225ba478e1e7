"""knox.AuthToken as django-rest-knox defines it (5.0's column sizes, which
also hold 4.2's rows), and the two formulas knox has used to make a token.

knox 4.2: token = 64 hex digits (32 random bytes), token_key = its first 8
digits, digest = hex SHA-512 of the 32 bytes (the token unhexlified).
knox 5.0: token = optional prefix + 64 hex digits, token_key = its first 15
characters, digest = hex SHA-512 of the token's UTF-8 text.
Both authenticate "Authorization: Token <token>" by looking up rows by
token_key and comparing digests; an expiry in the past refuses the token.
"""
import binascii
import hashlib
import os

from django.conf import settings
from django.db import models
from django.utils import timezone


def make_token(version, prefix=""):
    """Returns (token, token_key, digest) by knox `version` ("4.2" or "5.0")."""
    raw = binascii.hexlify(os.urandom(32)).decode()
    if version == "4.2":
        return raw, raw[:8], hashlib.sha512(binascii.unhexlify(raw)).hexdigest()
    if version == "5.0":
        token = prefix + raw
        return token, token[:15], hashlib.sha512(token.encode("utf-8")).hexdigest()
    raise ValueError(version)


class AuthTokenManager(models.Manager):
    def create_token(self, user, version, expiry=None, prefix=""):
        """Creates a row as knox's AuthToken.objects.create does; returns
        (instance, token). expiry is a timedelta from now, or None."""
        token, key, digest = make_token(version, prefix)
        exp = timezone.now() + expiry if expiry is not None else None
        return self.create(token_key=key, digest=digest, user=user, expiry=exp), token


class AuthToken(models.Model):
    objects = AuthTokenManager()

    digest = models.CharField(max_length=128, primary_key=True)
    token_key = models.CharField(max_length=25, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=False, blank=False, related_name="auth_token_set", on_delete=models.CASCADE
    )
    created = models.DateTimeField(auto_now_add=True)
    expiry = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return "%s : %s" % (self.digest, self.user)
