"""Django's local-memory cache on a clock the unit tests move, so that the
cache's bounds are tested without sleeping. Real time unless frozen."""

import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache


class Clock:
    """A clock for one test: now() is frozen at start and moves by advance()."""

    def __init__(self, start=None):
        self.t = time.time() if start is None else start

    def __call__(self):
        return self.t

    def advance(self, seconds):
        self.t += seconds


class ClockCache(LocMemCache):
    clock = None  # a Clock while a test has frozen time

    def _now(self):
        return (ClockCache.clock or time.time)()

    def get_backend_timeout(self, timeout=DEFAULT_TIMEOUT):
        if timeout == DEFAULT_TIMEOUT:
            timeout = self.default_timeout
        elif timeout == 0:
            timeout = -1
        return None if timeout is None else self._now() + timeout

    def _has_expired(self, key):
        exp = self._expire_info.get(key, -1)
        return exp is not None and exp <= self._now()
