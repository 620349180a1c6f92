from __future__ import annotations

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
        run_service(GatewayService(bind=options["bind"], port=options["port"]))
