"""The Django project of the GB/T 28181 platform (settings, URLs, ASGI and Celery apps)."""

from .celery import app as celery_app

__all__ = ["celery_app"]
