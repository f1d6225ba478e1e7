"""USER "local" for a project whose user model is keyed by UUIDs
(uuidusers.User, under testproject.settings_uuid): gatehouse gave the
imported users integer ids and kept each one's UUID, which introspection
tells (django_pk), so request.user is the project's row with that key.
Run by run-tests.sh in a process of its own:
TEST_SETTINGS=testproject.settings_uuid python3 runtests.py test_uuid_user"""

import uuid
from unittest import skipUnless

from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import TestCase

from test_unit import ALICE, CHALLENGE, CHALLENGE_INVALID, FakeCase, make_jwt, oauth_answer

KEY = uuid.UUID("3026d28e-dbc0-4dea-8da0-8aa9f5a3118d")


@skipUnless(settings.AUTH_USER_MODEL == "uuidusers.User", "needs TEST_SETTINGS=testproject.settings_uuid")
class UUIDLocalUserTest(FakeCase, TestCase):
    extra = {"USER": "local"}

    def setUp(self):
        super().setUp()
        self.alice = get_user_model().objects.create_user("alice", "alice@example.com", "pw", first_name="Alice", id=KEY)
        # Another row whose key a careless mapping could hit: the UUID
        # that the integer 7 makes.
        get_user_model().objects.create_user("mallory", "mallory@example.com", "pw", id=uuid.UUID(int=7))
        self.me = {"id": str(KEY), "first_name": "Alice", "last_name": "", "email": "alice@example.com", "username": "alice"}

    def test_introspected_credentials_name_the_row_by_its_key(self):
        self.fake.answers["k1"] = dict(ALICE, django_pk=str(KEY))
        self.fake.answers["o1"] = dict(oauth_answer("read write"), django_pk=str(KEY))
        self.assertAnswer(self.get("/api/me/", "Token k1"), 200, self.me)
        self.assertAnswer(self.get("/api/me/", "Bearer o1"), 200, self.me)
        self.assertEqual(self.fake.count("/api/me/"), 0)

    def test_jwt_of_gatehouse_introspected_once_for_the_key(self):
        tok = make_jwt()  # user_id 7, gatehouse's id
        self.fake.answers[tok] = dict(ALICE, token_type="Bearer", token_kind="jwt", django_pk=str(KEY))
        for _ in range(2):
            self.assertAnswer(self.get("/api/me/", "Bearer " + tok), 200, self.me)
        self.assertEqual(self.fake.count("/o/introspect/"), 1)

    def test_jwt_of_gatehouse_naming_the_key(self):
        # gatehouse names such a user by its key, with its id beside it:
        # no introspection is needed.
        tok = make_jwt(user_id=str(KEY), gatehouse_user_id=7)
        self.assertAnswer(self.get("/api/me/", "Bearer " + tok), 200, self.me)
        self.assertEqual(self.fake.count("/o/introspect/"), 0)

    def test_jwt_django_issued_names_the_key(self):
        tok = make_jwt(user_id=str(KEY))
        self.fake.answers[tok] = dict(ALICE, token_type="Bearer", token_kind="jwt", django_pk=str(KEY))
        self.assertAnswer(self.get("/api/me/", "Bearer " + tok), 200, self.me)

    def test_user_without_a_key_has_no_row(self):
        # A user made in gatehouse after the move: no Django key, so no
        # row of the project's, never the row the id would spell.
        self.fake.answers["k2"] = ALICE
        self.assertAnswer(self.get("/api/me/", "Token k2"), 401, {"detail": "Invalid token."}, CHALLENGE)
        tok = make_jwt()
        self.fake.answers[tok] = dict(ALICE, token_type="Bearer", token_kind="jwt")
        self.assertAnswer(self.get("/api/me/", "Bearer " + tok), 401, {"detail": "User not found", "code": "user_not_found"}, CHALLENGE_INVALID)
        # A key that is not a UUID, or names no row.
        self.fake.answers["k3"] = dict(ALICE, django_pk="not-a-uuid")
        self.fake.answers["k4"] = dict(ALICE, django_pk=str(uuid.uuid4()))
        for key in ("k3", "k4"):
            self.assertAnswer(self.get("/api/me/", "Token " + key), 401, {"detail": "Invalid token."}, CHALLENGE)

    def test_jwt_gatehouse_no_longer_accepts(self):
        # Introspection says inactive (its user was deactivated, say):
        # refused in gatehouse's words, which its /api/me/ gives.
        tok = make_jwt()
        refusal = {"detail": "User is inactive", "code": "user_inactive"}
        self.fake.me_refusal = refusal
        self.assertAnswer(self.get("/api/me/", "Bearer " + tok), 401, refusal, CHALLENGE_INVALID)

    def test_inactive_row(self):
        self.fake.answers["k1"] = dict(ALICE, django_pk=str(KEY))
        type(self.alice).objects.filter(pk=KEY).update(is_active=False)
        self.assertAnswer(self.get("/api/me/", "Token k1"), 401, {"detail": "User inactive or deleted."}, CHALLENGE)
