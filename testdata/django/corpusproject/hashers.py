"""The project's own hasher parameters, set the way Django documents it:
subclasses of Django's hashers listed in PASSWORD_HASHERS. The hashes they
write carry the parameters, so another verifier needs nothing from here."""
from django.contrib.auth.hashers import Argon2PasswordHasher, PBKDF2PasswordHasher


class PBKDF2PasswordHasher150k(PBKDF2PasswordHasher):
    """pbkdf2_sha256 at 150,000 iterations (Django 3.2's default is 260,000)."""

    iterations = 150000


class Argon2PasswordHasherLight(Argon2PasswordHasher):
    """argon2id at 16 MiB, 3 passes, 2 lanes (Django 3.2's default: 100 MiB, 2, 8)."""

    time_cost = 3
    memory_cost = 16384
    parallelism = 2
