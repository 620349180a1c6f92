"""Settings for the test suite: the platform's own settings, with this run's Redis keys and
Celery queue kept apart from a platform running on the same Redis. Subprocesses started by
tests (gateway, Celery worker) inherit them through the environment."""

import os
import uuid

_run = uuid.uuid4().hex[:8]
os.environ.setdefault("REDIS_KEY_PREFIX", f"gbtest-{_run}:")
os.environ.setdefault("CELERY_QUEUE", f"gbtest-{_run}")
os.environ.setdefault("SIP_PASSWORD", "test-device-password")
os.environ.setdefault("SIP_ADVERTISED_IP", "127.0.0.1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

from gbplatform.settings import *  # noqa: E402,F403
from gbplatform.settings import DATABASES, VAR_DIR  # noqa: E402

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so a Celery worker started by a test can open the same test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{_run}.sqlite3")}

# Password hashing at full strength costs about a second per test user; tests need no strength.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
