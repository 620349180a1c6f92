from __future__ import annotations

import gc
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from gbplatform.service import run_service
from sip_gateway.service import GatewayService


class Command(BaseCommand):
    help = "Run the SIP gateway (UDP and TCP) until SIGTERM or Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=None, help="address to listen on (default: SIP_BIND)")
        parser.add_argument("--port", type=int, default=None, help="port for UDP and TCP (default: SIP_PORT)")

    def handle(self, *args: Any, **options: Any) -> None:
        # Everything loaded so far (Django, Celery, settings, modules) lives as long as the
        # process: frozen, it is no longer walked by every full collection, which otherwise
        # costs about a tenth of the CPU in a registration storm. Most of what the gateway
        # allocates then dies within one message; collecting the young generation every 700
        # allocations would mostly walk the transactions still in flight.
        gc.freeze()
        gc.set_threshold(10_000, 10, 10)
        run_service(GatewayService(bind=options["bind"], port=options["port"]))
