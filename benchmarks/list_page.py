"""Benchmark: the LoRa list page's server time against the plain API call it wraps.

One run against the simulator: a team with a GRIP client-credentials credential on it,
DOWNLINKS downlinks in the simulator (both kinds, mixed statuses, some sent through the
portal so rows join its records), and the portal served over real HTTP in a thread. Then,
after a warm-up, `iterations` rounds that each make one request of the list page
(/t/<team>/lora/?limit=<rows>) and one plain API call of the same query (captured from the
simulator's request log) with httpx and a bearer token, in alternating order.

It reports medians and p95 of the plain call and the page (both timed by the client), of the
page's Server-Timing total and api, the ratio page / API, the portal's own overhead
(Server-Timing total - api) and the database queries per page (Server-Timing db).
Target: overhead ≤ 10 ms at the median and ≤ 10 queries per page.

    .venv/bin/python -m benchmarks.list_page [--iterations 200] [--rows 50]

`run()` measures in whatever database Django is set up with (the tests call it under
pytest-django, with transactions, since the served portal reads from its own connection);
`main()` sets up a throwaway SQLite database first, in a fresh process.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from benchmarks.throwaway import simulator_in_thread, use_throwaway_database

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from simulator.server import RunningSimulator
    from teams.models import Team

DOWNLINKS = 120  # in the simulator: LORA_VIA_API + LORA_VIA_PORTAL LoRa, the rest MQTT
LORA_VIA_API = 80
LORA_VIA_PORTAL = 10
TENANT = "bench-tenant"
TARGET_OVERHEAD_MS = 10.0
TARGET_QUERIES = 10
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Outcome markers of the simulator (see simulator/README.md), cycled over the downlinks.
MARKERS = (b"", b"", b"sim:FEEDBACK_TIMEOUT", b"sim:EVICTED", b"", b"sim:ACK_AFTER=1")
SERVER_TIMING_ENTRY = re.compile(
    r'(?P<name>[a-z]+);dur=(?P<dur>[0-9.]+)(?:;desc="(?P<desc>[^"]*)")?'
)


@dataclass(frozen=True)
class ServerTiming:
    total_ms: float
    api_ms: float
    api_calls: int
    db_ms: float
    db_queries: int


def parse_server_timing(header: str) -> ServerTiming:
    """The middleware's `api;dur=..;desc="N calls", db;dur=..;desc="N queries", total;dur=..`."""
    entries = {m["name"]: m for m in SERVER_TIMING_ENTRY.finditer(header)}
    missing = {"api", "db", "total"} - entries.keys()
    if missing:
        raise ValueError(f"Server-Timing lacks {sorted(missing)}: {header!r}")

    def count(name: str) -> int:
        return int((entries[name]["desc"] or "0").split()[0])

    return ServerTiming(
        total_ms=float(entries["total"]["dur"]),
        api_ms=float(entries["api"]["dur"]),
        api_calls=count("api"),
        db_ms=float(entries["db"]["dur"]),
        db_queries=count("db"),
    )


def p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]


@contextmanager
def portal_in_thread() -> Iterator[str]:
    """The portal's WSGI application over HTTP (keep-alive, so one thread and one database
    connection serve the benchmark's connection); yields its base URL."""
    from django.core.wsgi import get_wsgi_application
    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietRequestHandler(WSGIRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            return None

    server = make_server(
        "127.0.0.1",
        0,
        get_wsgi_application(),
        threaded=True,
        request_handler=QuietRequestHandler,
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="portal", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _lora_body(index: int) -> dict[str, Any]:
    payload = MARKERS[index % len(MARKERS)] + index.to_bytes(4, "big")
    return {
        "deviceId": f"deveui:{index % 16:016x}",
        "message": {"payloadHex": payload.hex(), "fPort": 1 + index % 200},
        "feedbackTimeout": "PT1H",
        "retryLimit": index % 3,
    }


def _mqtt_body(index: int) -> dict[str, Any]:
    marker = MARKERS[index % len(MARKERS)].decode()
    return {
        "deviceId": f"imei:35026680061{index % 10000:04d}",
        "message": {"type": "text", "payload": f"{marker} set {index}", "topic": "cmd/set"},
        "feedbackTimeout": "PT1H",
    }


def fill_simulator(
    simulator: RunningSimulator, api: httpx.Client, team: Team, operator: User
) -> None:
    """DOWNLINKS downlinks in three waves, the clock moved between them, so the newest are
    PENDING, some EXECUTING and the oldest DONE (successes and failures alike)."""
    from audit.trail import Origin
    from downlinks import services
    from downlinks.models import Kind
    from things_api import NewLoraDownlink

    origin = Origin(actor_id=operator.pk, actor_label=operator.get_username())
    for wave in range(3):
        for index in range(wave, DOWNLINKS - LORA_VIA_PORTAL, 3):
            kind, body = (
                ("lora", _lora_body(index)) if index < LORA_VIA_API else ("mqtt", _mqtt_body(index))
            )
            response = api.post(f"/{kind}/downlinks", json=body)
            assert response.status_code == 201, response.text
        for index in range(wave, LORA_VIA_PORTAL, 3):
            new = NewLoraDownlink.model_validate(_lora_body(1000 + index))
            result = services.downlink_send(
                submission_key=services.new_submission_key(),
                team=team,
                kind=Kind.LORA,
                new=new,
                origin=origin,
                user=operator,
            )
            assert result.downlink is not None, result.message
        simulator.clock.advance((15.0, 8.0, 0.0)[wave])


def signed_in_cookie(user: User) -> tuple[str, str]:
    """A real session for `user` (as the sign-in page would make), as a cookie name and value."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value


def _portal_query(simulator_url: str, api_path: str) -> str:
    """The query string of the last search the portal sent, from the simulator's request log."""
    log = httpx.get(f"{simulator_url}/_sim/requests").json()["items"]
    searches = [e for e in log if e["method"] == "GET" and e["path"] == api_path]
    if not searches:
        raise RuntimeError("the portal's list page sent no search to the simulator")
    return str(searches[-1]["query"])


def run(iterations: int = 200, rows: int = 50) -> dict[str, Any]:
    """Measure `iterations` list pages of `rows` rows against as many plain API calls."""
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from downlinks.forms import PAGE_SIZES

    if rows not in (*PAGE_SIZES, settings.THINGS_PAGE_SIZE):
        raise ValueError(f"the list shows pages of {PAGE_SIZES} rows, not {rows}")

    from audit.trail import Origin
    from benchmarks.simulated_team import team_on_simulator
    from teams import services as team_services
    from teams.connections import forget_clients
    from teams.models import Role

    suffix = uuid.uuid4().hex[:8]
    origin = Origin.system("benchmark")
    client_id, secret = f"bench-{suffix}", f"bench-secret-{uuid.uuid4().hex}"
    with (
        tempfile.TemporaryDirectory(prefix="list-page-bench-") as directory,
        simulator_in_thread(Path(directory)) as simulator,  # frozen: statuses do not move
    ):
        team = team_on_simulator(
            simulator,
            f"bench-{suffix}",
            f"Benchmark {suffix}",
            tenant_id=TENANT,
            client_id=client_id,
            secret=secret,
            origin=origin,
        )
        users = get_user_model().objects
        operator = users.create_user(f"bench-operator-{suffix}", password=None)
        viewer = users.create_user(f"bench-viewer-{suffix}", password=None)
        team_services.member_add(
            team=team, username=operator.get_username(), role=Role.OPERATOR, origin=origin
        )
        team_services.member_add(
            team=team, username=viewer.get_username(), role=Role.VIEWER, origin=origin
        )
        token = httpx.post(
            simulator.token_url(TENANT),
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
                "audience": simulator.app.config.audience,
            },
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        try:
            with (
                httpx.Client(base_url=simulator.url, headers=headers) as api,
                portal_in_thread() as portal_url,
                httpx.Client(base_url=portal_url) as portal,
            ):
                fill_simulator(simulator, api, team, operator)
                portal.cookies.set(*signed_in_cookie(viewer))
                return _measure(simulator, api, portal, team.slug, iterations, rows)
        finally:
            forget_clients()  # the cached API client points at this simulator


def _measure(
    simulator: RunningSimulator,
    api: httpx.Client,
    portal: httpx.Client,
    slug: str,
    iterations: int,
    rows: int,
) -> dict[str, Any]:
    page_url = f"/t/{slug}/lora/?limit={rows}"
    api_path = "/lora/downlinks"

    def get_page() -> tuple[float, ServerTiming, str]:
        started = time.perf_counter()
        response = portal.get(page_url)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"the list page answered {response.status_code}")
        return elapsed, parse_server_timing(response.headers["Server-Timing"]), response.text

    # Warm-up: the token, the cached client, templates, the first observation of the records.
    for _ in range(max(3, iterations // 10)):
        get_page()
    query = _portal_query(simulator.url, api_path)
    api_url = f"{api_path}?{query}"

    def get_api() -> float:
        started = time.perf_counter()
        response = api.get(api_url)
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        return elapsed

    for _ in range(max(3, iterations // 10)):
        get_api()
    _, _, html = get_page()
    api_rows = len(api.get(api_url).json()["items"])
    page_rows = html.count('<tr id="row-')
    if page_rows != rows or api_rows != rows:
        raise RuntimeError(f"expected {rows} rows; the page shows {page_rows}, the API {api_rows}")

    api_ms: list[float] = []
    page_ms: list[float] = []
    timings: list[ServerTiming] = []
    load_average = os.getloadavg()[0]  # other work on the machine shows in every number
    for round_number in range(iterations):
        page_first = round_number % 2 == 0
        if not page_first:
            api_ms.append(get_api() * 1000)
        elapsed, timing, _ = get_page()
        page_ms.append(elapsed * 1000)
        timings.append(timing)
        if page_first:
            api_ms.append(get_api() * 1000)

    total = [t.total_ms for t in timings]
    server_api = [t.api_ms for t in timings]
    overhead = [t.total_ms - t.api_ms for t in timings]
    queries = [t.db_queries for t in timings]
    return {
        "iterations": iterations,
        "rows": rows,
        "downlinks": DOWNLINKS,
        "query": query,
        "api_ms_median": statistics.median(api_ms),
        "api_ms_p95": p95(api_ms),
        "page_ms_median": statistics.median(page_ms),
        "page_ms_p95": p95(page_ms),
        "server_total_ms_median": statistics.median(total),
        "server_total_ms_p95": p95(total),
        "server_api_ms_median": statistics.median(server_api),
        "server_api_ms_p95": p95(server_api),
        "db_ms_median": statistics.median(t.db_ms for t in timings),
        "ratio": statistics.median(page_ms) / statistics.median(api_ms),
        "overhead_ms_median": statistics.median(overhead),
        "overhead_ms_p95": p95(overhead),
        "db_queries_median": statistics.median(queries),
        "db_queries_max": max(queries),
        "api_calls_per_page_max": max(t.api_calls for t in timings),
        "load_average": load_average,
    }


def report(result: dict[str, Any]) -> str:
    lines = [
        f"LoRa list page vs. the plain API call ({result['rows']} rows of "
        f"{result['downlinks']} downlinks, {result['iterations']} rounds, interleaved)",
        f"  query: GET /lora/downlinks?{result['query']}; load average "
        f"{result['load_average']:.2f} on {os.cpu_count()} CPUs",
        f"{'':<34} {'median ms':>10} {'p95 ms':>8}",
    ]
    for label, key in (
        ("plain API call (client)", "api_ms"),
        ("list page (client)", "page_ms"),
        ("list page Server-Timing total", "server_total_ms"),
        ("list page Server-Timing api", "server_api_ms"),
        ("portal overhead (total - api)", "overhead_ms"),
    ):
        lines.append(f"{label:<34} {result[key + '_median']:>10.1f} {result[key + '_p95']:>8.1f}")
    overhead_ok = result["overhead_ms_median"] <= TARGET_OVERHEAD_MS
    queries_ok = result["db_queries_max"] <= TARGET_QUERIES
    lines += [
        f"ratio page / API (medians): {result['ratio']:.2f}",
        f"database: {result['db_queries_median']:.0f} queries per page (max "
        f"{result['db_queries_max']}), {result['db_ms_median']:.1f} ms median; API calls per "
        f"page: {result['api_calls_per_page_max']}",
        f"target overhead ≤ {TARGET_OVERHEAD_MS:.0f} ms median: "
        f"{'met' if overhead_ok else 'NOT met'}; ≤ {TARGET_QUERIES} queries per page: "
        f"{'met' if queries_ok else 'NOT met'}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--rows", type=int, default=50)
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="list-page-bench-db-") as directory:
        use_throwaway_database(
            Path(directory),
            benchmark="list_page",
            allowed_hosts="127.0.0.1,testserver",
            collect_static=True,
        )
        result = run(arguments.iterations, arguments.rows)
    print(report(result))


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_ROOT))
    main()
