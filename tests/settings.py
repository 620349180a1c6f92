"""Settings for the test suite: the platform's own settings, with this run's Redis keys kept
apart from a platform running on the same Redis. Subprocesses started by tests inherit them."""

import os
import uuid

os.environ.setdefault("REDIS_KEY_PREFIX", f"gbtest-{uuid.uuid4().hex[:8]}:")
os.environ.setdefault("SIP_PASSWORD", "test-device-password")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

from gbplatform.settings import *  # noqa: E402,F403
