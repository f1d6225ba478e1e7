package djangoconf

// ShellScript are the lines that print a Django project's settings as the
// JSON Read takes; run them with
//
//	python manage.py shell < gatehouse-settings.py > django-settings.json
//
// They print the dictionaries as settings.py sets them (simplejwt, DOT and
// DRF fill in their own defaults, which Convert knows), timedeltas as
// seconds, each PASSWORD_HASHERS entry with the algorithm and costs of the
// hasher Django built, and the installed versions. SECRET_KEY and
// SIMPLE_JWT's SIGNING_KEY are printed only when SECRETS is set to True,
// DOT's private keys and resource-server credentials never.
const ShellScript = `import datetime, json, os, importlib.metadata as md
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import get_hashers
SECRETS = False  # True adds SECRET_KEY and SIMPLE_JWT's SIGNING_KEY (keep the output private)
def plain(v):
    if isinstance(v, datetime.timedelta): return v.total_seconds()
    if isinstance(v, os.PathLike): return os.fspath(v)
    if isinstance(v, dict): return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)): return [plain(x) for x in v]
    return v if v is None or isinstance(v, (bool, int, float, str)) else repr(v)
def version(d):
    try: return md.version(d)
    except md.PackageNotFoundError: return None
jwt = dict(getattr(settings, "SIMPLE_JWT", None) or {})
if "SIGNING_KEY" in jwt and not SECRETS: jwt["SIGNING_KEY"] = "<hidden>"
dot = {k: v for k, v in (getattr(settings, "OAUTH2_PROVIDER", None) or {}).items() if k not in ("OIDC_RSA_PRIVATE_KEY", "OIDC_RSA_PRIVATE_KEYS_INACTIVE", "RESOURCE_SERVER_AUTH_TOKEN", "RESOURCE_SERVER_INTROSPECTION_CREDENTIALS")}
costs = ("iterations", "rounds", "time_cost", "memory_cost", "parallelism", "work_factor", "block_size")
out = {"gatehouse": "django-settings/1", "versions": {d: version(d) for d in ("django", "djangorestframework", "djangorestframework-simplejwt", "django-oauth-toolkit")},
    "INSTALLED_APPS": list(settings.INSTALLED_APPS), "AUTH_USER_MODEL": settings.AUTH_USER_MODEL, "USERNAME_FIELD": get_user_model().USERNAME_FIELD, "SIMPLE_JWT": jwt, "OAUTH2_PROVIDER": dot,
    "REST_FRAMEWORK": getattr(settings, "REST_FRAMEWORK", None) or {}, "AUTH_PASSWORD_VALIDATORS": settings.AUTH_PASSWORD_VALIDATORS,
    "PASSWORD_HASHERS": [dict(path=p, algorithm=h.algorithm, **{a: getattr(h, a) for a in costs if hasattr(h, a)}) for p, h in zip(settings.PASSWORD_HASHERS, get_hashers())]}
out.update({k: getattr(settings, k) for k in ("OAUTH2_PROVIDER_APPLICATION_MODEL", "OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL",
    "OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL", "OAUTH2_PROVIDER_GRANT_MODEL") if hasattr(settings, k)})
if SECRETS: out["SECRET_KEY"] = settings.SECRET_KEY
print(json.dumps(plain(out), indent=1))
`
