from django.db import models
from oauth2_provider.models import AbstractApplication, AbstractAccessToken, AbstractRefreshToken, AbstractGrant, AbstractIDToken

class Application(AbstractApplication):
    logo = models.CharField(max_length=100, blank=True, default="")

class Grant(AbstractGrant):
    tenant = models.CharField(max_length=20, default="t1")

class IDToken(AbstractIDToken):
    pass

class AccessToken(AbstractAccessToken):
    device = models.CharField(max_length=20, default="phone")

class RefreshToken(AbstractRefreshToken):
    device = models.CharField(max_length=20, default="phone")
