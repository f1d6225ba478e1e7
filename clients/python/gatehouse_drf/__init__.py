"""gatehouse_drf: Django REST Framework authentication and permission
classes that accept gatehouse's credentials.

A Django project whose logins moved to gatehouse keeps its DRF views and
their permission_classes, and names GatehouseAuthentication in
REST_FRAMEWORK's DEFAULT_AUTHENTICATION_CLASSES. simplejwt access tokens
("Bearer <jwt>") are verified locally, with gatehouse's HMAC key or the
public keys of its JWKS; OAuth tokens ("Bearer <opaque>") and DRF keys
("Token <key>") are introspected at gatehouse's /o/introspect/, answers
cached in Django's cache framework. See README.md beside this package.
"""

__version__ = "0.1.0"

default_app_config = "gatehouse_drf.apps.GatehouseDRFConfig"
