"""testproject's settings with a user model keyed by UUIDs
(uuidusers.User): test_uuid_user runs under these, in a process of its
own (the user model is chosen once per process)."""

from .settings import *  # noqa: F401,F403
from .settings import INSTALLED_APPS, MIGRATION_MODULES

INSTALLED_APPS = INSTALLED_APPS + ["uuidusers"]
AUTH_USER_MODEL = "uuidusers.User"
MIGRATION_MODULES = dict(MIGRATION_MODULES, uuidusers=None)
