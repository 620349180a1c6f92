"""The Celery application: the gateway hands device state changes to these workers."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gbplatform.settings")

app = Celery("gbplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
