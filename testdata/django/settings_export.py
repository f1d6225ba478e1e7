# Prints the settings gatehouse can carry over, as JSON (durations in
# seconds). Run inside the Django project:
#     python manage.py shell < settings_export.py > settings.json
import datetime, json
from django.conf import settings


def _plain(v):
    if isinstance(v, datetime.timedelta):
        s = v.total_seconds()
        return int(s) if s == int(s) else s
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set, frozenset)):
        return [_plain(x) for x in v]
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


print(json.dumps({name: _plain(getattr(settings, name, None)) for name in (
    "SIMPLE_JWT", "OAUTH2_PROVIDER", "REST_FRAMEWORK", "PASSWORD_HASHERS", "AUTH_PASSWORD_VALIDATORS",
)}, indent=2, ensure_ascii=False))
