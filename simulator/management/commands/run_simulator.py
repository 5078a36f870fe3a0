"""python manage.py run_simulator: serve the Things API simulator until Ctrl-C (or SIGTERM)."""

import signal
from dataclasses import replace
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from simulator.app import create_app
from simulator.config import settings_from_django
from simulator.server import serve


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


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
