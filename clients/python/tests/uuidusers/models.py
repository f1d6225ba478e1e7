"""A custom user model keyed by UUIDs, as a project whose users gatehouse
imported with new integer ids keeps it (test_uuid_user)."""

import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
