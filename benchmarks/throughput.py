"""Benchmark: what the portal serves per second under concurrency, and what a polling tab costs
on the wire, against gunicorn as production runs it.

One run: the list page's world of benchmarks/list_page.py (a team on the simulator, DOWNLINKS
downlinks of both kinds, mixed statuses, some sent through the portal; the simulator frozen
in a thread of this process), and gunicorn started with things_portal/gunicorn_conf.py as
it is (its workers and threads: the defaults, or GUNICORN_WORKERS/GUNICORN_THREADS of the
environment, never set here), serving the benchmark-only settings benchmarks/trivial.py:
the portal's settings and URLs plus a trivial view behind the same middleware.

a. Requests/s at CONNECTIONS concurrent connections: as many client threads, each with a
   keep-alive httpx client of its own and a signed-in session, make `warmup` requests each,
   then, all started together, `requests` each; for the LoRa list page of ROWS rows and for
   the trivial view. Every answer must be a 200. Clients ask `Accept-Encoding:` as a browser
   does (ACCEPT_ENCODING), so the compression is part of the work. The ratio list / trivial
   says how much of a page's cost is the page rather than the stack around it.
b. Bytes on the wire of the list's htmx fragment (what a tab polls every LIVE_REFRESH_SECONDS
   while downlinks run: `HX-Request: true`, `HX-Target: results`, `X-Portal-Background: 1`)
   and of the full page, asked with `Accept-Encoding: identity`, `gzip` and `br`: the body as
   transferred (before decoding), the headers (counted from the parsed response, about
   what was sent), and per hour of one open tab polling. Fails if gzip is asked for and
   the fragment does not come back gzipped.

No targets: it prints what it measures.

    .venv/bin/python -m benchmarks.throughput [--connections 16] [--requests 30]
                                              [--warmup 5] [--database sqlite|postgres]

The database is a throwaway one: PostgreSQL (a new database on the server) when the
environment's DATABASE_URL names a PostgreSQL server, as production runs, else SQLite.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchmarks.list_page import (
    DATABASE_NAMES,
    DOWNLINKS,
    bench_team,
    fill_simulator,
    p95,
    parse_server_timing,
    signed_in_cookie,
)
from benchmarks.served import Served, portal_environment, portal_under_gunicorn
from benchmarks.throwaway import (
    names_postgres,
    simulator_in_thread,
    throwaway_postgres_database,
    use_throwaway_database,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONNECTIONS = 16
REQUESTS = 30
WARMUP = 5
ROWS = 50
ACCEPT_ENCODING = "gzip, deflate, br"  # a browser's (zstd aside, which the portal ignores)
FRAGMENT_HEADERS = {"HX-Request": "true", "HX-Target": "results", "X-Portal-Background": "1"}
ENCODINGS = ("identity", "gzip", "br")
SAMPLES = 5  # per encoding: Django's gzip pads against BREACH, so sizes vary a little


@dataclass(frozen=True)
class Load:
    """One view under CONNECTIONS concurrent connections."""

    requests: int
    seconds: float
    latencies_ms: list[float]
    server_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


@dataclass(frozen=True)
class Transfer:
    """One response's size: the body as transferred, decoded, and the headers."""

    asked: str
    content_encoding: str
    body_bytes: int
    decoded_bytes: int
    header_bytes: int

    @property
    def wire_bytes(self) -> int:
        return self.body_bytes + self.header_bytes


def _get_ok(
    client: httpx.Client, path: str, headers: Mapping[str, str] | None = None
) -> httpx.Response:
    """A GET that must answer 200: anything else fails the benchmark."""
    response = client.get(path, headers=dict(headers or {}))
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}")
    return response


def load(
    served: Served,
    path: str,
    cookie: tuple[str, str],
    *,
    connections: int,
    requests: int,
    warmup: int,
) -> Load:
    """`connections` threads, each a keep-alive client of its own: a warm-up of `warmup`
    requests each (every worker and thread warms up too), then `requests` each, all started
    at once; timed from the start to the last answer."""
    barrier = threading.Barrier(connections + 1)
    latencies: list[list[float]] = [[] for _ in range(connections)]
    server: list[list[float]] = [[] for _ in range(connections)]
    failures: list[BaseException] = []

    def connection(index: int) -> None:
        with served.client(headers={"Accept-Encoding": ACCEPT_ENCODING}) as client:
            client.cookies.set(*cookie)
            try:
                for _ in range(warmup):
                    _get_ok(client, path)
            except Exception as error:
                failures.append(error)
                barrier.abort()  # the others stop waiting, the run fails below
                return
            try:
                barrier.wait()
                for _ in range(requests):
                    started = time.perf_counter()
                    response = _get_ok(client, path)
                    latencies[index].append((time.perf_counter() - started) * 1000)
                    server[index].append(
                        parse_server_timing(response.headers["Server-Timing"]).total_ms
                    )
            except Exception as error:
                failures.append(error)

    threads = [
        threading.Thread(target=connection, args=(index,), name=f"client-{index}")
        for index in range(connections)
    ]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # a warm-up failed: see below
        barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    failed = [f for f in failures if not isinstance(f, threading.BrokenBarrierError)]
    if failures:
        first = (failed or failures)[0]
        raise RuntimeError(f"{len(failures)} of {connections} connections failed: {first!r}")
    return Load(
        requests=connections * requests,
        seconds=seconds,
        latencies_ms=[ms for each in latencies for ms in each],
        server_ms=[ms for each in server for ms in each],
    )


def transfer(client: httpx.Client, path: str, headers: Mapping[str, str], asked: str) -> Transfer:
    """One GET asking for `asked`, its body counted as transferred (num_bytes_downloaded is
    before decoding) and as decoded."""
    with client.stream("GET", path, headers={**headers, "Accept-Encoding": asked}) as response:
        body = response.read()
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} ({asked}) answered {response.status_code}")
        # "HTTP/1.1 200 OK\r\n", each "name: value\r\n", the blank line.
        header_bytes = (
            len(f"HTTP/1.1 {response.status_code} {response.reason_phrase}\r\n")
            + sum(len(name) + len(value) + 4 for name, value in response.headers.raw)
            + 2
        )
        return Transfer(
            asked=asked,
            content_encoding=response.headers.get("Content-Encoding", "identity"),
            body_bytes=response.num_bytes_downloaded,
            decoded_bytes=len(body),
            header_bytes=header_bytes,
        )


def typical_transfer(
    client: httpx.Client, path: str, headers: Mapping[str, str], asked: str
) -> Transfer:
    """The median of SAMPLES transfers (by bytes on the wire); all must agree on encoding."""
    samples = sorted(
        (transfer(client, path, headers, asked) for _ in range(SAMPLES)),
        key=lambda t: t.wire_bytes,
    )
    encodings = {t.content_encoding for t in samples}
    if len(encodings) != 1:
        raise RuntimeError(f"GET {path} asking {asked} came back as {sorted(encodings)}")
    return samples[len(samples) // 2]


def run(
    connections: int = CONNECTIONS, requests: int = REQUESTS, warmup: int = WARMUP
) -> dict[str, Any]:
    """Both measures against one gunicorn, in whatever database Django is set up with."""
    from django.conf import settings
    from django.db import connection

    import things_portal.gunicorn_conf as gunicorn_conf
    from benchmarks.trivial import TRIVIAL_PATH  # runs the settings module: only now
    from teams.connections import forget_clients

    with (
        tempfile.TemporaryDirectory(prefix="throughput-bench-") as directory,
        simulator_in_thread(Path(directory)) as simulator,  # frozen: statuses do not move
    ):
        bench = bench_team(simulator)
        page = f"/t/{bench.team.slug}/lora/?limit={ROWS}"
        try:
            with (
                httpx.Client(base_url=simulator.url, headers=bench.api_headers) as api,
                portal_under_gunicorn(
                    Path(directory),
                    workers=None,  # production's: things_portal/gunicorn_conf.py
                    threads=None,
                    settings_module="benchmarks.trivial",
                    environment=portal_environment(Path(directory)),
                ) as served,
            ):
                fill_simulator(simulator, api, bench.team, bench.operator)
                cookie = signed_in_cookie(bench.viewer)
                with served.client() as client:
                    client.cookies.set(*cookie)
                    shown = _get_ok(client, page).text.count('<tr id="row-')
                    if shown != ROWS:
                        raise RuntimeError(f"the list page shows {shown} rows, not {ROWS}")
                    if _get_ok(client, TRIVIAL_PATH).text != "ok":
                        raise RuntimeError("the trivial view did not answer its text")
                    fragment_text = _get_ok(client, page, FRAGMENT_HEADERS).text
                    if "<html" in fragment_text or '<tr id="row-' not in fragment_text:
                        raise RuntimeError("the htmx request did not get the results fragment")
                    fragment = {
                        asked: typical_transfer(client, page, FRAGMENT_HEADERS, asked)
                        for asked in ENCODINGS
                    }
                    if fragment["gzip"].content_encoding != "gzip":
                        raise RuntimeError(
                            "the fragment asked with gzip came back "
                            f"{fragment['gzip'].content_encoding}"
                        )
                    whole = {
                        asked: typical_transfer(client, page, {}, asked) for asked in ENCODINGS
                    }
                options = {"connections": connections, "requests": requests, "warmup": warmup}
                list_load = load(served, page, cookie, **options)
                trivial_load = load(served, TRIVIAL_PATH, cookie, **options)
                problems = served.problems()
        finally:
            forget_clients()  # the cached API client points at this simulator
    if problems:
        raise RuntimeError("the portal's log reports failures:\n" + "\n".join(problems))
    return {
        "database": connection.vendor,
        "workers": gunicorn_conf.workers,
        "threads": gunicorn_conf.threads,
        "workers_from_environment": "GUNICORN_WORKERS" in os.environ
        or "GUNICORN_THREADS" in os.environ,
        "connections": connections,
        "requests": requests,
        "warmup": warmup,
        "rows": ROWS,
        "downlinks": DOWNLINKS,
        "list": list_load,
        "trivial": trivial_load,
        "fragment": fragment,
        "whole": whole,
        "fragment_polls": "results-refresh" in fragment_text,
        "refresh_seconds": settings.LIVE_REFRESH_SECONDS,
        "load_average": os.getloadavg()[0],
    }


def _load_line(label: str, measured: Load) -> str:
    return (
        f"{label:<22} {measured.per_second:>9.1f} {statistics.median(measured.latencies_ms):>10.1f}"
        f" {p95(measured.latencies_ms):>8.1f} {statistics.median(measured.server_ms):>12.1f}"
    )


def _transfer_lines(label: str, transfers: Mapping[str, Transfer]) -> list[str]:
    lines = [label]
    for asked, measured in transfers.items():
        lines.append(
            f"  {asked:<10} {measured.content_encoding:<10} {measured.body_bytes:>10,} "
            f"{measured.decoded_bytes:>10,} {measured.header_bytes:>9,} "
            f"{measured.wire_bytes:>10,}"
        )
    return lines


def report(result: dict[str, Any]) -> str:
    source = (
        "from GUNICORN_WORKERS/GUNICORN_THREADS"
        if result["workers_from_environment"]
        else "things_portal/gunicorn_conf.py's defaults"
    )
    list_load: Load = result["list"]
    trivial_load: Load = result["trivial"]
    polls = 3600 / result["refresh_seconds"]
    fragment: dict[str, Transfer] = result["fragment"]
    lines = [
        "Throughput and bytes, against gunicorn as production runs it",
        f"  gunicorn: {result['workers']} workers x {result['threads']} threads (gthread, "
        f"{source}), on a unix socket",
        f"  {os.cpu_count()} CPUs, load average {result['load_average']:.2f}",
        f"  database: {DATABASE_NAMES.get(result['database'], result['database'])}; the "
        "simulator and the clients share the benchmark's process",
        "",
        f"a. {result['connections']} concurrent keep-alive connections, {result['requests']} "
        f"requests each after {result['warmup']} to warm up",
        f"   Accept-Encoding: {ACCEPT_ENCODING}",
        f"{'':<22} {'requests/s':>9} {'median ms':>10} {'p95 ms':>8} {'server ms':>12}",
        _load_line(f"LoRa list, {result['rows']} rows", list_load),
        _load_line("trivial view", trivial_load),
        f"ratio list / trivial (requests/s): {list_load.per_second / trivial_load.per_second:.3f}"
        f" (the trivial view serves {trivial_load.per_second / list_load.per_second:.1f}x as "
        "many)",
        "  (median ms: as the client saw it, queueing included; server ms: Server-Timing total)",
        "",
        f"b. bytes per response (median of {SAMPLES}; headers counted from the parsed response)",
        f"  {'asked':<10} {'answered':<10} {'body wire':>10} {'decoded':>10} {'headers':>9} "
        f"{'total':>10}",
        *_transfer_lines(
            f"htmx fragment (#results{', which polls' if result['fragment_polls'] else ''})",
            fragment,
        ),
        *_transfer_lines("full page", result["whole"]),
        f"one open tab polling every {result['refresh_seconds']} s ({polls:.0f} fragments an "
        "hour), body + headers:",
    ]
    for asked, measured in fragment.items():
        lines.append(
            f"  asking {asked:<9} ({measured.content_encoding:<8}) "
            f"{measured.wire_bytes:>8,} bytes per fragment, "
            f"{measured.wire_bytes * polls / 1e6:>6.2f} MB per hour"
        )
    identity, gzip = fragment["identity"], fragment["gzip"]
    lines.append(
        f"  gzip sends {gzip.wire_bytes / identity.wire_bytes:.0%} of the uncompressed bytes "
        f"(body alone: {gzip.body_bytes / identity.body_bytes:.0%})"
    )
    if fragment["br"].content_encoding != "br":
        lines.append(
            f"  asking br alone: answered {fragment['br'].content_encoding} (the portal "
            "compresses HTML with gzip only)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--requests", type=int, default=REQUESTS)
    parser.add_argument("--warmup", type=int, default=WARMUP)
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgres"),
        help="default: postgres if DATABASE_URL names a PostgreSQL server, else sqlite",
    )
    arguments = parser.parse_args(argv)
    # Read before use_throwaway_database points DATABASE_URL at the throwaway database.
    server_url = os.environ.get("DATABASE_URL", "")
    database = arguments.database or ("postgres" if names_postgres(server_url) else "sqlite")
    if database == "postgres" and not names_postgres(server_url):
        parser.error("--database postgres needs DATABASE_URL to name a PostgreSQL server")

    def measure(database_url: str | None) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="throughput-bench-db-") as directory:
            use_throwaway_database(
                Path(directory),
                benchmark="throughput",
                allowed_hosts="127.0.0.1",
                collect_static=True,
                database_url=database_url,
            )
            return run(arguments.connections, arguments.requests, arguments.warmup)

    if database == "postgres":
        with throwaway_postgres_database(server_url, benchmark="throughput") as database_url:
            result = measure(database_url)
    else:
        result = measure(None)
    print(report(result))


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_ROOT))
    main()
