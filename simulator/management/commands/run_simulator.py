"""python manage.py run_simulator: serve the Things API simulator until Ctrl-C (or SIGTERM)."""

import ipaddress
import signal
from dataclasses import replace
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from simulator.app import create_app
from simulator.config import settings_from_django
from simulator.server import serve


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach `host` (a name other than localhost: no)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Command(BaseCommand):
    help = "Serve the simulator of the KPN Things MQTT and LoRa Downlinks APIs until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", help="Interface to listen on (default SIMULATOR_HOST).")
        parser.add_argument("--port", type=int, help="Port to listen on (default SIMULATOR_PORT).")
        parser.add_argument(
            "--latency-ms",
            type=float,
            help="Delay added to every API call (default SIMULATOR_LATENCY_MS).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        config = settings_from_django()
        latency = options["latency_ms"]
        config = replace(
            config,
            host=options["host"] or config.host,
            port=options["port"] if options["port"] is not None else config.port,
            latency_ms=latency if latency is not None else config.latency_ms,
        )
        if not config.control_token and not is_loopback(config.host):
            # Compose cannot require the variable (it interpolates every profile's services),
            # so the simulator itself refuses to open its control API to a network.
            raise CommandError(
                f"Listening on {config.host} would let anyone who reaches the port use the "
                "control API (/_sim/: mint tokens, add clients, inject faults). Set "
                "SIMULATOR_CONTROL_TOKEN, or listen on 127.0.0.1."
            )
        # Stop cleanly on Ctrl-C even when started with SIGINT ignored, and on SIGTERM.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _interrupt)
        app = create_app(config)

        def announce(url: str) -> None:
            self.stdout.write(
                f"Things API simulator on {url} (store {config.database}); Ctrl-C to stop."
            )
            self.stdout.flush()

        try:
            serve(config.host, config.port, app, on_ready=announce)
        finally:
            app.store.close()
        self.stdout.write("Simulator stopped.")
