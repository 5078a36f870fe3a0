"""Serving the simulator over HTTP with werkzeug's threaded server."""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from simulator.app import SimulatorApp
from simulator.clock import Clock
from simulator.store import Store
from simulator.tokens import ALL_SCOPES, TOKEN_TTL_SECONDS


class _QuietRequestHandler(WSGIRequestHandler):
    """The app logs each request itself (without secrets); werkzeug's own line is dropped."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


def make_simulator_server(host: str, port: int, app: SimulatorApp) -> BaseWSGIServer:
    return make_server(host, port, app, threaded=True, request_handler=_QuietRequestHandler)


def serve(
    host: str, port: int, app: SimulatorApp, *, on_ready: Callable[[str], None] | None = None
) -> None:
    """Serve until interrupted (Ctrl-C); `on_ready` gets the URL once the port is bound."""
    server = make_simulator_server(host, port, app)
    if on_ready is not None:
        on_ready(f"http://{host}:{server.server_port}")
    try:
        server.serve_forever()  # returns on KeyboardInterrupt (werkzeug catches it)
    finally:
        server.server_close()


@dataclass
class RunningSimulator:
    """A simulator serving in a background thread; `url` has no trailing slash."""

    app: SimulatorApp
    url: str
    _server: BaseWSGIServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def store(self) -> Store:
        return self.app.store

    @property
    def clock(self) -> Clock:
        return self.app.clock

    def token(
        self,
        tenant: str = "demo",
        scopes: tuple[str, ...] | list[str] = ALL_SCOPES,
        *,
        ttl_seconds: int = TOKEN_TTL_SECONDS,
        **kwargs: Any,
    ) -> str:
        """A bearer token for `tenant` with `scopes`, valid on this simulator."""
        return self.app.issue_token(tenant, scopes, ttl_seconds=ttl_seconds, **kwargs)

    def token_url(self, tenant: str = "demo") -> str:
        return f"{self.url}/v2/{tenant}/oidc/idp/c1/token"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def start_in_thread(app: SimulatorApp, host: str = "127.0.0.1", port: int = 0) -> RunningSimulator:
    """Start serving `app` in a daemon thread (port 0: a free one); stop() ends it."""
    server = make_simulator_server(host, port, app)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},  # so stop() returns quickly
        name="simulator",
        daemon=True,
    )
    thread.start()
    return RunningSimulator(
        app=app, url=f"http://{host}:{server.server_port}", _server=server, _thread=thread
    )
