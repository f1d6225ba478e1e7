"""Runs gatehouse_drf's tests with Django's test runner:
python3 runtests.py [labels]  (default: test_unit and test_gatehouse;
test_uuid_user with TEST_SETTINGS=testproject.settings_uuid)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]
# TEST_SETTINGS may name other settings (testproject.settings_uuid).
os.environ["DJANGO_SETTINGS_MODULE"] = os.environ.get("TEST_SETTINGS") or "testproject.settings"

import django  # noqa: E402
from django.conf import settings  # noqa: E402
from django.test.utils import get_runner  # noqa: E402

django.setup()
runner = get_runner(settings)(verbosity=int(os.environ.get("VERBOSITY", "1")))
failures = runner.run_tests(sys.argv[1:] or ["test_unit", "test_gatehouse"])
sys.exit(1 if failures else 0)
