"""Benchmark: the LoRa list page's server time against the plain API call it wraps.

One run against the simulator: a team with a GRIP client-credentials credential on it,
DOWNLINKS downlinks in the simulator (both kinds, mixed statuses, some sent through the
portal so rows join its records), and the portal served as production serves it: gunicorn
(things_portal/gunicorn_conf.py) in a process of its own, on a unix socket, with one worker
and one thread (the rounds make one request at a time). The simulator stays in a thread of
the benchmark's process: it is the "API", timed by the same client. After a warm-up,
`iterations` rounds each make one request of the list page (/t/<team>/lora/?limit=<rows>)
and one plain API call of the same query (captured from the simulator's request log) with
httpx and a bearer token, in alternating order.

It reports medians and p95 of the plain call and the page (both timed by the client), of the
page's Server-Timing total and api, the ratio page / API, the portal's own overhead
(Server-Timing total - api) and the database queries per page (Server-Timing db). Then one
more page: the first to load after CHANGES of the portal's own downlinks changed status in
the simulator (sent through the portal, seen PENDING by a page, the clock moved past
PENDING), which writes what it saw; its database queries are reported. Targets: overhead
≤ 5 ms median on SQLite, ≤ 7 ms on PostgreSQL; ≤ 10 queries per page, also for the page
that records 10 changes.

    .venv/bin/python -m benchmarks.list_page [--iterations 200] [--rows 50]
                                             [--database sqlite|postgres]

`run()` measures in whatever database Django is set up with (the tests call it under
pytest-django, with transactions, since the served portal reads from its own connection; the
server is given that database, SQLite file or PostgreSQL, and this process's keys);
`main()` sets up a throwaway SQLite database first, in a fresh process;
when the environment's DATABASE_URL names a PostgreSQL server, it then runs the same
benchmark on a throwaway database of that server (created, migrated and dropped) in another
fresh process, and prints both reports.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from benchmarks.served import portal_environment, portal_under_gunicorn
from benchmarks.throwaway import (
    names_postgres,
    simulator_in_thread,
    throwaway_postgres_database,
    use_throwaway_database,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from simulator.server import RunningSimulator
    from teams.models import Team

DOWNLINKS = 120  # in the simulator: LORA_VIA_API + LORA_VIA_PORTAL LoRa, the rest MQTT
LORA_VIA_API = 80
LORA_VIA_PORTAL = 10
TENANT = "bench-tenant"
# The portal's own time per list page (Server-Timing total - api), median, per database.
TARGET_OVERHEAD_MS = {"sqlite": 5.0, "postgresql": 7.0}
TARGET_QUERIES = 10
CHANGES = 10  # downlinks of the portal's whose status changes before the "changed" page
TARGET_CHANGED_QUERIES = 10
DATABASE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
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


type ClientFactory = Callable[[], httpx.Client]
SERVED_BY = "gunicorn (1 worker, 1 thread) in a process of its own, on a unix socket"


@contextmanager
def portal_served(directory: Path) -> Iterator[ClientFactory]:
    """The portal under gunicorn; yields a maker of clients against it, and fails if its log
    reports a failure."""
    with portal_under_gunicorn(
        directory, workers=1, threads=1, environment=portal_environment(directory)
    ) as server:
        yield server.client
        problems = server.problems()
    if problems:
        raise RuntimeError("the portal's log reports failures:\n" + "\n".join(problems))


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


def _send_via_portal(team: Team, operator: User, body: dict[str, Any]) -> None:
    """A LoRa downlink sent as the send form sends it, so the portal has a record of it."""
    from audit.trail import Origin
    from devices.models import Kind
    from downlinks import services
    from things_api import NewLoraDownlink

    result = services.downlink_send(
        submission_key=services.new_submission_key(),
        team=team,
        kind=Kind.LORA,
        new=NewLoraDownlink.model_validate(body),
        origin=Origin(actor_id=operator.pk, actor_label=operator.get_username()),
        user=operator,
    )
    assert result.downlink is not None, result.message


def fill_simulator(
    simulator: RunningSimulator, api: httpx.Client, team: Team, operator: User
) -> None:
    """DOWNLINKS downlinks in three waves, the clock moved between them, so the newest are
    PENDING, some EXECUTING and the oldest DONE (successes and failures alike)."""
    for wave in range(3):
        for index in range(wave, DOWNLINKS - LORA_VIA_PORTAL, 3):
            kind, body = (
                ("lora", _lora_body(index)) if index < LORA_VIA_API else ("mqtt", _mqtt_body(index))
            )
            response = api.post(f"/{kind}/downlinks", json=body)
            assert response.status_code == 201, response.text
        for index in range(wave, LORA_VIA_PORTAL, 3):
            _send_via_portal(team, operator, _lora_body(1000 + index))
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


@dataclass(frozen=True)
class BenchTeam:
    """A team on the simulator with an operator and a viewer, and a token of the team's
    client for plain API calls (the headers of an httpx client)."""

    team: Team
    operator: User
    viewer: User
    api_headers: dict[str, str]


def bench_team(simulator: RunningSimulator) -> BenchTeam:
    """A new team whose GRIP client-credentials credential points at `simulator`, its two
    members, and a token of the same client, all made through the real services."""
    from django.contrib.auth import get_user_model

    from audit.trail import Origin
    from benchmarks.simulated_team import team_on_simulator
    from teams import services as team_services
    from teams.models import Role

    suffix = uuid.uuid4().hex[:8]
    origin = Origin.system("benchmark")
    client_id, secret = f"bench-{suffix}", f"bench-secret-{uuid.uuid4().hex}"
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
    for user, role in ((operator, Role.OPERATOR), (viewer, Role.VIEWER)):
        team_services.member_add(team=team, username=user.get_username(), role=role, origin=origin)
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
    return BenchTeam(team=team, operator=operator, viewer=viewer, api_headers=headers)


def run(iterations: int = 200, rows: int = 50) -> dict[str, Any]:
    """Measure `iterations` list pages of `rows` rows against as many plain API calls, then
    the page that is the first to see CHANGES status changes of the portal's own downlinks."""
    from django.conf import settings
    from django.db import connection

    from downlinks.forms import PAGE_SIZES
    from teams.connections import forget_clients

    if rows not in (*PAGE_SIZES, settings.THINGS_PAGE_SIZE):
        raise ValueError(f"the list shows pages of {PAGE_SIZES} rows, not {rows}")

    with (
        tempfile.TemporaryDirectory(prefix="list-page-bench-") as directory,
        simulator_in_thread(Path(directory)) as simulator,  # frozen: statuses do not move
    ):
        bench = bench_team(simulator)
        try:
            with (
                httpx.Client(base_url=simulator.url, headers=bench.api_headers) as api,
                portal_served(Path(directory)) as portal_client,
                portal_client() as portal,
            ):
                fill_simulator(simulator, api, bench.team, bench.operator)
                portal.cookies.set(*signed_in_cookie(bench.viewer))
                result = _measure(simulator, api, portal, bench.team.slug, iterations, rows)
                result.update(_changed_page(simulator, portal, bench.team, bench.operator, rows))
        finally:
            forget_clients()  # the cached API client points at this simulator
    result["database"] = connection.vendor
    # As docker-compose runs it when the environment names a CACHE_URL (the server inherits it).
    result["sessions"] = (
        "read from the cache (CACHE_URL)" if settings.SESSION_ENGINE.endswith("cached_db") else "db"
    )
    return result


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


def _changed_page(
    simulator: RunningSimulator, portal: httpx.Client, team: Team, operator: User, rows: int
) -> dict[str, Any]:
    """The page that is the first to see CHANGES of the portal's own downlinks change status
    (it records each: the writes of downlinks_observe), its Server-Timing read. Everything
    on the page is settled and seen first, so the changes are exactly those; the status
    events in the shared database prove that the page saw them all."""
    from downlinks.models import StatusEvent

    changes = min(CHANGES, rows)  # the newest rows, so all of them are on the first page
    page_url = f"/t/{team.slug}/lora/?limit={rows}"

    def load() -> ServerTiming:
        response = portal.get(page_url)
        if response.status_code != 200:
            raise RuntimeError(f"the list page answered {response.status_code}")
        return parse_server_timing(response.headers["Server-Timing"])

    def events() -> int:
        return StatusEvent.objects.filter(downlink__team=team, source="list").count()

    simulator.clock.advance(60.0)  # every downlink DONE, retries and all
    load()  # ... and seen so by the portal
    for index in range(changes):
        body = {
            "deviceId": f"deveui:{0xC0DE0000 + index:016x}",
            "message": {"payloadHex": f"bench-change-{index}".encode().hex(), "fPort": 7},
            "feedbackTimeout": "PT1H",
        }
        _send_via_portal(team, operator, body)  # no marker: PENDING, then EXECUTING
    load()  # the portal has seen them PENDING
    before = events()
    simulator.clock.advance(6.0)  # past PENDING (5 s), not yet DONE (15 s): one change each
    timing = load()
    seen = events() - before
    if seen != changes:
        raise RuntimeError(
            f"the page after {changes} status changes recorded {seen} of them; the "
            "measure would not be what it says"
        )
    return {
        "changes": changes,
        "changes_recorded": seen,
        "changed_db_queries": timing.db_queries,
        "changed_db_ms": timing.db_ms,
        "changed_total_ms": timing.total_ms,
        "changed_overhead_ms": timing.total_ms - timing.api_ms,
    }


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def report(result: dict[str, Any]) -> str:
    database = result.get("database", "sqlite")
    target_overhead = TARGET_OVERHEAD_MS.get(database, min(TARGET_OVERHEAD_MS.values()))
    lines = [
        f"LoRa list page vs. the plain API call ({result['rows']} rows of "
        f"{result['downlinks']} downlinks, {result['iterations']} rounds, interleaved)",
        f"  database: {DATABASE_NAMES.get(database, database)}; sessions: "
        f"{result.get('sessions', 'db')}; the simulator in a thread",
        f"  portal served by {SERVED_BY}",
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
    overhead_ok = result["overhead_ms_median"] <= target_overhead
    queries_ok = result["db_queries_max"] <= TARGET_QUERIES
    lines += [
        f"ratio page / API (medians): {result['ratio']:.2f}",
        f"database: {result['db_queries_median']:.0f} queries per page (max "
        f"{result['db_queries_max']}), {result['db_ms_median']:.1f} ms median; API calls per "
        f"page: {result['api_calls_per_page_max']}",
    ]
    if "changes" in result:
        changed_ok = result["changed_db_queries"] <= TARGET_CHANGED_QUERIES
        lines.append(
            f"page after {result['changes']} statuses changed (recorded "
            f"{result['changes_recorded']}): {result['changed_db_queries']} queries, "
            f"{result['changed_db_ms']:.1f} ms in the database, overhead "
            f"{result['changed_overhead_ms']:.1f} ms"
        )
    lines += [
        f"target portal overhead ≤ {target_overhead:g} ms median ({database}): "
        f"{_verdict(overhead_ok)}",
        f"target ≤ {TARGET_QUERIES} queries per page: {_verdict(queries_ok)} "
        f"({result['db_queries_max']})",
    ]
    if "changes" in result:
        lines.append(
            f"target ≤ {TARGET_CHANGED_QUERIES} queries for the page after {result['changes']} "
            f"statuses changed: {_verdict(changed_ok)} ({result['changed_db_queries']})"
        )
    return "\n".join(lines)


def _run_here(arguments: argparse.Namespace, database_url: str | None) -> None:
    """Set Django up on a throwaway database (`database_url`, else SQLite) and report."""
    with tempfile.TemporaryDirectory(prefix="list-page-bench-db-") as directory:
        use_throwaway_database(
            Path(directory),
            benchmark="list_page",
            allowed_hosts="127.0.0.1,testserver",
            collect_static=True,
            database_url=database_url,
        )
        result = run(arguments.iterations, arguments.rows)
    print(report(result), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgres"),
        help="only this one (postgres: a throwaway database on the server DATABASE_URL "
        "names); default: SQLite, then PostgreSQL too if DATABASE_URL names a server",
    )
    arguments = parser.parse_args(argv)
    # Read before use_throwaway_database points DATABASE_URL at the throwaway database.
    environment = dict(os.environ)
    server_url = environment.get("DATABASE_URL", "")
    if arguments.database == "postgres":
        if not names_postgres(server_url):
            parser.error("--database postgres needs DATABASE_URL to name a PostgreSQL server")
        with throwaway_postgres_database(server_url, benchmark="list_page") as database_url:
            _run_here(arguments, database_url)
        return
    _run_here(arguments, None)
    if arguments.database is None and names_postgres(server_url):
        print(flush=True)
        command = [
            sys.executable,
            "-m",
            "benchmarks.list_page",
            "--database",
            "postgres",
            f"--iterations={arguments.iterations}",
            f"--rows={arguments.rows}",
        ]
        # Django is set up once per process: PostgreSQL gets a fresh one.
        status = subprocess.run(  # noqa: S603 - our own interpreter and module
            command, cwd=PROJECT_ROOT, env=environment, check=False
        ).returncode
        if status != 0:
            raise SystemExit(f"the PostgreSQL run failed (exit {status})")


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_ROOT))
    main()
