"""The dashboard's budget, counted rather than timed: at most 10 database queries per page,
one API call per list, and a Server-Timing header (api, db, total) that tells the truth about
both. The time itself is measured by the benchmark (benchmarks/list_page.py); the last test
only proves that the benchmark runs and reports sane numbers, not how fast the page is."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from benchmarks.__main__ import benchmark_names
from benchmarks.list_page import ServerTiming, parse_server_timing, run
from downlinks.models import StatusEvent
from tests.downlinks.conftest import (
    Dashboard,
    downlink_id_of,
    lora_body,
    lora_form,
    mqtt_body,
    send_form,
)
from tests.teams.capture import body_of
from tests.teams.world import sign_in

pytestmark = pytest.mark.usefixtures("server_timing_on")  # the budget is read from it

QUERY_BUDGET = 10
HTMX = {"HX-Request": "true"}
WHOLE: dict[str, str] = {}
LORA_FIELDS = {"payload_format": "hex", "payload": "0102", "f_port": "1", "retry_limit": "0"}

type MaxQueries = Callable[[int], AbstractContextManager[CaptureQueriesContext]]


@pytest.fixture
def shown(dash: Dashboard) -> dict[str, Any]:
    """Downlinks of both kinds made elsewhere, and two sent from the portal (so rows join its
    records, and a detail page has status events and audit entries); some are running, some
    DONE, and the portal has recorded what it saw of its own. Gives the ids of the portal's
    two ("sent" is DONE, "running" PENDING) and the number of rows the LoRa list shows."""
    for index in range(12):
        dash.api_create("lora", lora_body(deviceId=f"deveui:{index:016x}"))
    dash.api_create("mqtt", mqtt_body())
    sent = downlink_id_of(dash.operator.post(dash.url("send", "lora"), lora_form()))
    dash.advance(20)  # the first ones and the portal's own are DONE now
    for index in range(3):
        dash.api_create("lora", lora_body(deviceId=f"deveui:{index + 100:016x}"))
    running = downlink_id_of(dash.operator.post(dash.url("send", "lora"), lora_form()))
    assert dash.admin.get(dash.url("list", "lora")).status_code == 200  # sees the change
    return {"sent": str(sent), "running": str(running), "rows": 12 + 1 + 3 + 1}


def server_timing(response: Any) -> ServerTiming:
    assert "Server-Timing" in response, "no Server-Timing header"
    return parse_server_timing(response["Server-Timing"])


def fresh_operator(dash: Dashboard) -> Client:
    """The operator signed in anew: the session's first team page also writes the session."""
    return sign_in(Client(), dash.operator_user)


def test_the_list_whole_and_as_fragment_stays_within_the_query_budget(
    dash: Dashboard, shown: dict[str, Any], django_assert_max_num_queries: MaxQueries
) -> None:
    url = dash.url("list", "lora")
    operator = fresh_operator(dash)
    for headers in (WHOLE, HTMX, WHOLE):
        with django_assert_max_num_queries(QUERY_BUDGET) as captured:
            response = operator.get(url, headers=headers)

        assert response.status_code == 200
        assert body_of(response).count('<tr id="row-') == shown["rows"]
        assert ("<html" in body_of(response)) == (headers is WHOLE)
        assert server_timing(response).db_queries == len(captured.captured_queries)


def test_the_detail_page_and_the_send_form_stay_within_the_query_budget(
    dash: Dashboard, shown: dict[str, Any], django_assert_max_num_queries: MaxQueries
) -> None:
    detail, send = dash.url("detail", "lora", shown["sent"]), dash.url("send", "lora")
    operator = fresh_operator(dash)
    for url, headers in (
        (detail, WHOLE),
        (detail, HTMX),
        (send, WHOLE),
        (f"{send}?clone={shown['sent']}", WHOLE),
    ):
        with django_assert_max_num_queries(QUERY_BUDGET) as captured:
            response = operator.get(url, headers=headers)

        assert response.status_code == 200
        assert server_timing(response).db_queries == len(captured.captured_queries)
    assert shown["sent"] in body_of(response)  # the clone form is filled from the downlink


def test_a_change_seen_first_by_a_page_is_written_once_and_reads_stay_the_same(
    dash: Dashboard, shown: dict[str, Any]
) -> None:
    """A page that is the first to see a status change of a downlink sent from the portal
    records it (its only writes); it reads no more than any other visit of the page."""
    url = dash.url("list", "lora")
    assert dash.operator.get(url).status_code == 200
    dash.advance(6)  # the running one is EXECUTING now: a change the portal has not seen yet

    statements = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as captured:
            assert dash.operator.get(url).status_code == 200
        statements.append([query["sql"].split()[0] for query in captured.captured_queries])
    first, second = statements

    assert [word for word in first if word == "SELECT"] == second
    assert "UPDATE" in first
    assert "INSERT" in first  # the status event
    assert len(second) <= QUERY_BUDGET


def test_ten_changes_seen_by_one_page_are_written_in_as_few_statements_as_one(
    dash: Dashboard, django_assert_max_num_queries: MaxQueries
) -> None:
    """The writes of what a page saw are batched: one UPDATE of the records and one INSERT
    of their status events, however many changed."""
    for index in range(10):
        sent = dash.operator.post(
            dash.url("send", "lora"), send_form(f"deveui:0004a30b00{index:06x}", **LORA_FIELDS)
        )
        downlink_id_of(sent)
    url = dash.url("list", "lora")
    assert dash.operator.get(url).status_code == 200  # seen PENDING
    dash.advance(6)  # all ten are EXECUTING now
    events_before = StatusEvent.objects.count()

    with django_assert_max_num_queries(QUERY_BUDGET) as captured:
        response = dash.operator.get(url)

    assert response.status_code == 200
    assert StatusEvent.objects.count() == events_before + 10
    statements = [query["sql"].split()[0] for query in captured.captured_queries]
    assert statements.count("UPDATE") == 1
    assert statements.count("INSERT") == 1


def test_list_and_detail_say_where_their_time_went(dash: Dashboard, shown: dict[str, Any]) -> None:
    listed = server_timing(dash.viewer.get(dash.url("list", "lora")))
    detail = server_timing(dash.viewer.get(dash.url("detail", "lora", shown["sent"])))

    # One search per list page (the token, fetched on the first call, is part of that call).
    assert listed.api_calls == 1
    assert detail.api_calls == 1
    for timing in (listed, detail):
        assert timing.db_queries >= 3  # session, user, membership at least
        assert 0 < timing.api_ms <= timing.total_ms
        assert 0 <= timing.db_ms <= timing.total_ms


def test_a_page_that_asks_nothing_of_the_api_says_so(
    dash: Dashboard, shown: dict[str, Any]
) -> None:
    timing = server_timing(dash.operator.get(dash.url("send", "lora")))

    assert timing.api_calls == 0
    assert timing.api_ms == 0
    assert timing.db_queries >= 3


def test_a_server_timing_header_without_one_of_its_entries_is_refused() -> None:
    header = 'api;dur=1.5;desc="1 calls", db;dur=1.2;desc="6 queries", total;dur=9.5'

    assert parse_server_timing(header) == ServerTiming(
        total_ms=9.5, api_ms=1.5, api_calls=1, db_ms=1.2, db_queries=6
    )
    with pytest.raises(ValueError, match="total"):
        parse_server_timing(header.removesuffix(", total;dur=9.5"))


@pytest.mark.django_db(transaction=True)  # the portal is served from threads of its own
def test_the_benchmark_runs_and_reports_sane_numbers() -> None:
    result = run(iterations=5, rows=10)

    assert result["iterations"] == 5
    assert result["rows"] == 10
    assert result["query"] == "limit=10&sort=-createdAt"  # what the portal sent, as it sent it
    for key in ("api_ms", "page_ms", "server_total_ms", "server_api_ms", "overhead_ms"):
        assert 0 <= result[f"{key}_median"] <= result[f"{key}_p95"]
    assert result["api_ms_median"] > 0
    assert result["ratio"] > 0
    assert result["server_total_ms_median"] > result["server_api_ms_median"]
    assert result["api_calls_per_page_max"] == 1
    assert 0 < result["db_queries_max"] <= QUERY_BUDGET


def test_make_bench_runs_every_module_with_a_main() -> None:
    """`python -m benchmarks` finds the benchmarks by their `main()`, this one included."""
    names = benchmark_names()

    assert {"audit_csv", "list_page"} <= set(names)
    assert "__main__" not in names
    assert "__init__" not in names
