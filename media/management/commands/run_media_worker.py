from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from gbplatform.service import run_service
from media.service import MediaWorkerService


class Command(BaseCommand):
    help = "Run a media worker until SIGTERM or Ctrl-C."

    def handle(self, *args: Any, **options: Any) -> None:
        run_service(MediaWorkerService())
