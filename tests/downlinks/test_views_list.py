"""The lists of LoRa and MQTT downlinks against the live simulator: filters, sorting by each
sortable column both ways, page sizes, cursor paging, the empty state, the whole page versus
the htmx fragment, and the live refresh that runs only while a shown downlink is running."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from downlinks.models import Downlink
from tests.downlinks.conftest import (
    COLLECTIONS,
    Dashboard,
    banners,
    field_errors,
    lora_body,
    mqtt_body,
    page_text,
)
from tests.downlinks.list_specs import downlink_fields
from tests.teams.capture import body_of

HTMX = {"HX-Request": "true"}


def hex_of(text: str) -> str:
    return text.encode().hex()


@dataclass(frozen=True)
class Shown:
    """Three downlinks of one kind that differ in every column of the list."""

    kind: str
    items: dict[str, dict[str, Any]]  # "x", "y", "z" → the API's downlink, as it is now

    def ids(self, *names: str) -> list[str]:
        return [self.items[name]["id"] for name in names]


# x, y and z of each kind (see three_downlinks): how many seconds after the one before it
# each is made, then what differs between them.
LORA_XYZ = [  # wait, deviceId, payloadHex, fPort, retryLimit
    (0, "deveui:0000000000000003", "ff" + hex_of("sim:ACK_AFTER=1"), 7, 5),
    (6, "deveui:0000000000000001", "00" + hex_of("sim:NOT_ACKNOWLEDGED_BY_DEVICE"), 3, 9),
    (21, "deveui:0000000000000002", "80", 200, 0),
]
MQTT_XYZ = [  # wait, deviceId, payload, topic (text messages)
    (0, "imei:350266800610003", "zulu", "b/topic"),
    (20, "imei:350266800610001", "alpha", "c/topic"),
    (7, "imei:350266800610002", "mike", "a/topic"),
]


def xyz_bodies(kind: str) -> list[tuple[int, dict[str, Any]]]:
    """The create bodies of x, y and z, each with the seconds to wait before making it."""
    if kind == "lora":
        return [
            (
                wait,
                lora_body(
                    deviceId=device, message={"payloadHex": hex_, "fPort": port}, retryLimit=retries
                ),
            )
            for wait, device, hex_, port, retries in LORA_XYZ
        ]
    return [
        (
            wait,
            mqtt_body(deviceId=device, message={"type": "text", "payload": text, "topic": topic}),
        )
        for wait, device, text, topic in MQTT_XYZ
    ]


def three_downlinks(dash: Dashboard, kind: str) -> Shown:
    """x is DONE, y EXECUTING and z PENDING, created (and modified) in that order, with
    device ids, payloads, ports, retry counts and topics that sort differently.

    LoRa (P=5 s, E=10 s, R=5 s): x (ACK_AFTER=1) made at 0 is DONE at 20 with one retry;
    y (NOT_ACKNOWLEDGED, 9 retries) made at 6 is in its second retry at 28; z is made at 27.
    MQTT: x made at 0 is DONE at 15; y made at 20 is EXECUTING at 28; z is made at 27.
    """
    made: list[dict[str, Any]] = []
    for wait, body in xyz_bodies(kind):
        dash.advance(wait)
        made.append(dash.api_create(kind, body))
    dash.advance(1)
    items = {name: dash.api_get(kind, item["id"]) for name, item in zip("xyz", made, strict=True)}
    assert [items[name]["status"] for name in "xyz"] == ["DONE", "EXECUTING", "PENDING"]
    if kind == "lora":
        assert [items[name]["retryCount"] for name in "xyz"] == [1, 2, 0]
    return Shown(kind, items)


# The list's column → how to read that column's value from the API's downlink.
COLUMN_VALUES = {
    "device": lambda item: item["deviceId"],
    "status": lambda item: item["status"],
    "payload": lambda item: item["message"].get("payloadHex", item["message"].get("payload")),
    "port": lambda item: item["message"]["fPort"],
    "retries": lambda item: item["retryCount"],
    "topic": lambda item: item["message"]["topic"],
    "created": lambda item: item["createdAt"],
    "modified": lambda item: item["modifiedAt"],
}
API_FIELDS: dict[str, str | dict[str, str]] = {
    "device": "deviceId",
    "status": "status",
    "payload": {"lora": "message.payloadHex", "mqtt": "message.payload"},
    "port": "message.fPort",
    "retries": "retryCount",
    "topic": "message.topic",
    "created": "createdAt",
    "modified": "modifiedAt",
}
COLUMNS = {
    "lora": ["device", "status", "payload", "port", "retries", "created", "modified"],
    "mqtt": ["device", "status", "payload", "topic", "created", "modified"],
}


def api_field(kind: str, column: str) -> str:
    field = API_FIELDS[column]
    return field[kind] if isinstance(field, dict) else field


# The columns to sort by: those of a top-level field of the downlink in the kind's spec.
SORTABLE = {
    kind: [column for column in columns if api_field(kind, column) in downlink_fields(kind)]
    for kind, columns in COLUMNS.items()
}


def row_ids(response: Any) -> list[str]:
    return re.findall(r'<tr id="row-([0-9a-f-]{36})"', body_of(response))


def last_search(dash: Dashboard, kind: str) -> dict[str, list[str]]:
    """The query of the last search the simulator received."""
    searches = [
        entry
        for entry in dash.simulator.app.request_log.entries()
        if entry.method == "GET" and entry.path == COLLECTIONS[kind]
    ]
    assert searches, "no search reached the API"
    return parse_qs(searches[-1].query)


def local(timestamp: str) -> str:
    """An API timestamp as a person enters it in the filter (local time, no offset)."""
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return moment.astimezone(ZoneInfo(settings.TIME_ZONE)).strftime("%Y-%m-%dT%H:%M:%S.%f")


def list_of(dash: Dashboard, kind: str, **query: str) -> Any:
    url = dash.url("list", kind)
    return dash.viewer.get(f"{url}?{urlencode(query)}" if query else url)


# --- Sorting -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "column"),
    [(kind, column) for kind, columns in SORTABLE.items() for column in columns],
)
def test_each_sortable_column_sorts_both_ways(dash: Dashboard, kind: str, column: str) -> None:
    shown = three_downlinks(dash, kind)
    value = COLUMN_VALUES[column]
    ascending = [item["id"] for item in sorted(shown.items.values(), key=lambda item: value(item))]
    assert len({value(item) for item in shown.items.values()}) == 3  # no ties to break
    for sort, expected in ((column, ascending), (f"-{column}", ascending[::-1])):
        response = list_of(dash, kind, sort=sort)
        assert response.status_code == 200
        assert row_ids(response) == expected, sort
        sent = last_search(dash, kind)["sort"][0].split(",")
        assert sent[0] == ("-" if sort.startswith("-") else "") + api_field(kind, column)
        direction = "descending" if sort.startswith("-") else "ascending"
        header = re.search(
            rf'<th scope="col" aria-sort="{direction}">\s*<a href="([^"]*)"', body_of(response)
        )
        assert header is not None, f"no {direction} header for {sort}"
        # The sorted column's link flips the direction.
        flipped = parse_qs(urlsplit(header.group(1).replace("&amp;", "&")).query)["sort"]
        assert flipped == [column if sort.startswith("-") else f"-{column}"]


def test_the_default_order_is_newest_first(dash: Dashboard) -> None:
    shown = three_downlinks(dash, "lora")
    response = list_of(dash, "lora")
    assert row_ids(response) == shown.ids("z", "y", "x")
    assert 'aria-sort="descending"' in body_of(response)
    assert last_search(dash, "lora")["sort"] == ["-createdAt"]


def test_an_unknown_sort_is_refused_without_a_search(dash: Dashboard) -> None:
    for sort in ("id", "-retries-", "topic"):  # "topic" is an MQTT column, not a LoRa one
        response = list_of(dash, "lora", sort=sort)
        assert response.status_code == 400
        assert "Some filters are not valid; nothing was looked up." in " ".join(banners(response))
    assert dash.calls("GET", COLLECTIONS["lora"]) == 0


# --- Filters -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["lora", "mqtt"])
def test_each_filter_narrows_the_list(dash: Dashboard, kind: str) -> None:
    shown = three_downlinks(dash, kind)
    x, y, z = (shown.items[name] for name in "xyz")
    cases: list[tuple[dict[str, str], list[str], dict[str, list[str]]]] = [
        # (One search per spelling of the device id: test_views_list_finding.py.)
        ({"device": y["deviceId"]}, shown.ids("y"), {}),
        ({"status": "PENDING"}, shown.ids("z"), {"status": ["PENDING"]}),
        ({"status": "EXECUTING"}, shown.ids("y"), {"status": ["EXECUTING"]}),
        ({"status": "DONE"}, shown.ids("x"), {"status": ["DONE"]}),
        ({"created_since": local(y["createdAt"])}, shown.ids("z", "y"), {}),
        ({"created_before": local(y["createdAt"])}, shown.ids("x"), {}),
        ({"modified_since": local(y["modifiedAt"])}, shown.ids("z", "y"), {}),
        ({"modified_before": local(y["modifiedAt"])}, shown.ids("x"), {}),
        (
            {"created_since": local(x["createdAt"]), "created_before": local(z["createdAt"])},
            shown.ids("y", "x"),
            {},
        ),
        ({"device": y["deviceId"], "status": "DONE"}, [], {}),
    ]
    for query, expected, sent in cases:
        response = list_of(dash, kind, **query)
        assert response.status_code == 200, query
        assert row_ids(response) == expected, query
        search = last_search(dash, kind)
        for name, values in sent.items():
            assert search[name] == values
        for name in query:
            api_name = {
                "device": "deviceId",
                "status": "status",
                "created_since": "createdSince",
                "created_before": "createdBefore",
                "modified_since": "modifiedSince",
                "modified_before": "modifiedBefore",
            }[name]
            assert api_name in search, (name, search)
        # The filters stay filled in on the page.
        assert all(value in body_of(response) for value in query.values())


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ({"device": "sensor-17"}, "device", "is not a device id"),
        ({"device": "imei:123"}, "device", "is not a device id"),
        ({"created_since": "yesterday"}, "created_since", "Enter a valid date/time."),
        (
            {"created_since": "2026-01-02T00:00", "created_before": "2026-01-01T00:00"},
            "created_before",
            "This must be later than the “from” time.",
        ),
        (
            {"modified_since": "2026-01-01T00:00", "modified_before": "2026-01-01T00:00"},
            "modified_before",
            "This must be later than the “from” time.",
        ),
        ({"limit": "7"}, "limit", "Select a valid choice."),
        ({"limit": "-1"}, "limit", "Select a valid choice."),
    ],
)
def test_invalid_filters_are_explained_and_nothing_is_looked_up(
    dash: Dashboard, query: dict[str, str], field: str, words: str
) -> None:
    for kind in ("lora", "mqtt"):
        response = list_of(dash, kind, **query)
        assert response.status_code == 400
        errors = field_errors(response)
        assert words in errors.get(field, ""), errors
        assert "Some filters are not valid; nothing was looked up." in banners(response)[0]
    assert dash.calls() == 0


# --- Page size and cursor paging ---------------------------------------------------------------


def many_downlinks(dash: Dashboard, kind: str, count: int) -> list[str]:
    """`count` downlinks, a millisecond apart; their ids newest first."""
    ids = []
    for _ in range(count):
        ids.append(dash.api_create(kind)["id"])
        dash.advance(0.001)
    return ids[::-1]


@pytest.mark.parametrize("kind", ["lora", "mqtt"])
def test_page_size_and_cursor_paging(dash: Dashboard, kind: str) -> None:
    newest_first = many_downlinks(dash, kind, 23)
    first = list_of(dash, kind, limit="10")
    assert row_ids(first) == newest_first[:10]
    assert last_search(dash, kind)["limit"] == ["10"]
    page = body_of(first)
    assert 'rel="prev"' not in page
    second = follow(dash, first, "next")
    assert row_ids(second) == newest_first[10:20]
    third = follow(dash, second, "next")
    assert row_ids(third) == newest_first[20:]
    assert 'rel="next"' not in body_of(third)
    back = follow(dash, third, "prev")
    assert row_ids(back) == newest_first[10:20]
    assert row_ids(follow(dash, back, "prev")) == newest_first[:10]
    # A downlink made meanwhile does not shift the pages already being paged through.
    dash.api_create(kind)
    assert row_ids(follow(dash, first, "next")) == newest_first[10:20]
    everything = list_of(dash, kind, limit="25")
    assert len(row_ids(everything)) == 24
    assert 'rel="next"' not in body_of(everything)


def follow(dash: Dashboard, response: Any, rel: str) -> Any:
    """Follow the page's next/prev link, as a person (or htmx) would."""
    link = re.search(rf'<a href="([^"]*)"[^>]*rel="{rel}"', body_of(response))
    assert link is not None, f"no {rel} link"
    href = link.group(1).replace("&amp;", "&")
    query = parse_qs(urlsplit(href).query)
    assert set(query) >= {"cursor", "sort"}
    assert "http" not in href  # our own URL carries the cursor; the API's link is not shown
    return dash.viewer.get(f"{urlsplit(response.wsgi_request.get_full_path()).path}{href}")


def test_the_page_size_setting_is_the_default(dash: Dashboard, settings: Any) -> None:
    settings.THINGS_PAGE_SIZE = 3
    many_downlinks(dash, "mqtt", 4)
    response = list_of(dash, "mqtt")
    assert len(row_ids(response)) == 3
    assert last_search(dash, "mqtt")["limit"] == ["3"]
    assert '<option value="3" selected>' in body_of(response)
    # One of the offered sizes: shown as chosen, so that filtering keeps it.
    settings.THINGS_PAGE_SIZE = 25
    assert '<option value="25" selected>' in body_of(list_of(dash, "mqtt", status="PENDING"))


# --- Empty, whole page and fragment --------------------------------------------------------------


@pytest.mark.parametrize(("kind", "label"), [("lora", "LoRa"), ("mqtt", "MQTT")])
def test_the_empty_state_says_so(dash: Dashboard, kind: str, label: str) -> None:
    dash.api_create("mqtt" if kind == "lora" else "lora")  # the other kind does not show
    response = list_of(dash, kind)
    assert response.status_code == 200
    assert row_ids(response) == []
    assert f"No {label} downlinks match these filters." in page_text(response)
    assert 'rel="next"' not in body_of(response)
    assert 'rel="prev"' not in body_of(response)


@pytest.mark.parametrize("kind", ["lora", "mqtt"])
def test_htmx_gets_only_the_results_and_the_response_varies_on_it(
    dash: Dashboard, kind: str
) -> None:
    dash.api_create(kind)
    full = list_of(dash, kind)
    fragment = dash.viewer.get(dash.url("list", kind), headers=HTMX)
    for response in (full, fragment):
        assert response.status_code == 200
        assert "HX-Request" in response["Vary"]
        assert len(row_ids(response)) == 1
    assert body_of(full).lstrip().startswith("<!doctype html>")
    assert 'class="filters"' in body_of(full)
    assert '<div id="results"' in body_of(full)
    fragment_html = body_of(fragment).strip()
    assert fragment_html.startswith('<div id="results"')
    assert fragment_html.endswith("</div>")
    assert "<html" not in fragment_html
    assert 'class="filters"' not in fragment_html
    # A boosted navigation is a whole page again.
    boosted = dash.viewer.get(dash.url("list", kind), headers={**HTMX, "HX-Boosted": "true"})
    assert body_of(boosted).lstrip().startswith("<!doctype html>")


def test_the_fragment_of_invalid_filters_explains_them(dash: Dashboard) -> None:
    # The filter form replaces itself and the results: its field errors come and go with it.
    response = dash.viewer.get(
        f"{dash.url('list', 'lora')}?status=LOST", headers={**HTMX, "HX-Target": "filtered-list"}
    )
    assert response.status_code == 400
    body = body_of(response).strip()
    assert body.startswith('<div class="filtered-list" id="filtered-list"')
    assert "<html" not in body
    assert field_errors(response)["status"].startswith("Select a valid choice.")
    assert "Some filters are not valid" in page_text(response)
    # A fixed filter gets the form back without the error.
    fixed = dash.viewer.get(
        f"{dash.url('list', 'lora')}?status=DONE", headers={**HTMX, "HX-Target": "filtered-list"}
    )
    assert fixed.status_code == 200
    assert field_errors(fixed) == {}
    assert 'id="results"' in body_of(fixed)


# --- Live refresh --------------------------------------------------------------------------------

# The element that refreshes the results region (inside it, so it goes when nothing runs).
LIVE = re.compile(r'<div id="results-refresh"[^>]*hx-trigger="every (\d+)s"')


@pytest.mark.parametrize("kind", ["lora", "mqtt"])
def test_the_list_refreshes_itself_only_while_a_shown_downlink_runs(
    dash: Dashboard, kind: str, settings: Any
) -> None:
    settings.LIVE_REFRESH_SECONDS = 4
    dash.api_create(kind)
    for response in (list_of(dash, kind), dash.viewer.get(dash.url("list", kind), headers=HTMX)):
        live = LIVE.search(body_of(response))
        assert live is not None
        assert live.group(1) == "4"
        assert """hx-headers='{"X-Portal-Background": "1"}'""" in body_of(response)
        assert 'hx-get="/t/ferry/' in live.group(0)
        assert "Refreshes every 4 seconds while downlinks are running." in page_text(response)
    dash.advance(16)  # PENDING 5 s + EXECUTING 10 s: DONE
    for response in (list_of(dash, kind), dash.viewer.get(dash.url("list", kind), headers=HTMX)):
        assert LIVE.search(body_of(response)) is None
        assert "results-refresh" not in body_of(response)
        assert "Refreshes every" not in page_text(response)


def test_the_refresh_keeps_the_filters_of_the_page(dash: Dashboard) -> None:
    dash.api_create("lora")
    response = list_of(dash, "lora", status="PENDING", sort="device")
    live = re.search(r'<div id="results-refresh"[^>]*hx-get="([^"]*)"', body_of(response))
    assert live is not None
    query = parse_qs(urlsplit(live.group(1).replace("&amp;", "&")).query)
    assert query == {"status": ["PENDING"], "sort": ["device"]}


def test_only_shown_rows_count_for_the_refresh(dash: Dashboard) -> None:
    done = dash.api_create("lora")
    dash.advance(16)
    running = dash.api_create("lora", lora_body(deviceId="deveui:00000000000000aa"))
    assert LIVE.search(body_of(list_of(dash, "lora"))) is not None
    only_done = list_of(dash, "lora", status="DONE")
    assert row_ids(only_done) == [done["id"]]
    assert LIVE.search(body_of(only_done)) is None
    assert row_ids(list_of(dash, "lora", device=running["deviceId"])) == [running["id"]]


# --- Rows -----------------------------------------------------------------------------------------


def test_rows_show_their_state_in_words(dash: Dashboard) -> None:
    failed = dash.api_create(
        "lora", lora_body(message={"payloadHex": hex_of("sim:EVICTED"), "fPort": 9})
    )
    odd = dash.api_create(
        "lora",
        lora_body(message={"payloadHex": hex_of("sim:STATUS=WAITING_FOR_GATEWAY"), "fPort": 9}),
    )
    dash.advance(6)
    page = body_of(list_of(dash, "lora"))
    row = page.split(f'id="row-{odd["id"]}"')[1].split("</tr>")[0]
    assert "WAITING_FOR_GATEWAY" in row  # an unknown status is shown as it is
    dash.advance(10)
    page = body_of(list_of(dash, "lora"))
    row = page.split(f'id="row-{failed["id"]}"')[1].split("</tr>")[0]
    assert "Failed: EVICTED" in row
    assert "11 bytes" in row
    assert "<td>9</td>" in row


def test_rows_sent_from_the_portal_say_by_whom(dash: Dashboard) -> None:
    from tests.downlinks.conftest import lora_form

    response = dash.operator.post(dash.url("send", "lora"), lora_form())
    assert response.status_code == 302
    dash.api_create("lora")  # not from the portal
    page = body_of(list_of(dash, "lora"))
    record = Downlink.objects.get()
    mine = page.split(f'id="row-{record.remote_id}"')[1].split("</tr>")[0]
    assert "<td><bdi>ferry-operator</bdi></td>" in mine
    assert page.count("<td><bdi>ferry-operator</bdi></td>") == 1


# --- Timing ---------------------------------------------------------------------------------------


def test_the_list_reports_where_its_time_went(dash: Dashboard, server_timing_on: None) -> None:
    dash.api_create("lora")
    response = list_of(dash, "lora")
    timing = server_timing(response["Server-Timing"])
    assert set(timing) == {"api", "db", "total"}
    assert timing["api"]["desc"] == "1 calls"  # the token is fetched by the auth, not counted
    assert float(timing["total"]["dur"]) >= float(timing["api"]["dur"]) > 0
    assert float(timing["db"]["dur"]) > 0
    assert int(timing["db"]["desc"].split()[0]) > 0


def test_production_answers_tell_nothing_of_their_insides(dash: Dashboard) -> None:
    assert "Server-Timing" not in list_of(dash, "lora")


def server_timing(header: str) -> dict[str, dict[str, str]]:
    metrics: dict[str, dict[str, str]] = {}
    for part in header.split(","):
        name, *params = (piece.strip() for piece in part.split(";"))
        metrics[name] = {
            key: value.strip('"') for key, value in (param.split("=", 1) for param in params)
        }
    return metrics


def test_an_edited_page_link_is_explained_not_blamed_on_the_api(dash: Dashboard) -> None:
    dash.api_create("mqtt")
    for cursor in ("not-a-cursor", "0"):
        response = list_of(dash, "mqtt", cursor=cursor)
        assert response.status_code == 400
        (banner,) = banners(response)
        assert banner.startswith("The Things API refused the request")
        assert "cursor" in banner
        assert "If you followed an old or edited link, clear the filters and start again." in banner
