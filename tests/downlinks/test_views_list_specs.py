"""The lists keep to what the specs say, against the live simulator: sort links only for the
downlink's top-level fields (an old link's sort by a message field is left out, said so, and
never sent), the status filter of each kind as its spec has it (LoRa's an enum, MQTT's open),
and a refused search explained for what it is (an old link only when it came with one)."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from downlinks.forms import COLUMN_LABELS, SORT_COLUMNS, list_columns
from downlinks.forms.filters import COLUMN_FIELDS
from downlinks.selectors import cursor_of
from tests.downlinks.conftest import (
    COLLECTIONS,
    TENANT,
    Dashboard,
    banners,
    field_errors,
    input_value,
    lora_body,
    mqtt_body,
    page_text,
)
from tests.downlinks.list_specs import downlink_fields, known_statuses, status_filter
from tests.downlinks.test_views_list import (
    COLUMN_VALUES,
    COLUMNS,
    SORTABLE,
    api_field,
    list_of,
    row_ids,
    three_downlinks,
)
from tests.teams.capture import body_of
from things_api import STATUS_ORDER

KINDS = ("lora", "mqtt")


def searches(dash: Dashboard, kind: str) -> list[dict[str, list[str]]]:
    """The query of every search (not a read of one downlink) the simulator received."""
    return [
        parse_qs(entry.query)
        for entry in dash.simulator.app.request_log.entries()
        if entry.method == "GET" and entry.path == COLLECTIONS[kind]
    ]


def headers(response: Any) -> dict[str, str]:
    """Each column header's inside (its HTML), by the words it shows."""
    head = body_of(response).split("<thead>")[1].split("</thead>")[0]
    cells = re.findall(r'<th scope="col"([^>]*)>(.*?)</th>', head, re.DOTALL)
    found = {}
    for attributes, inside in cells:
        words = re.sub(r"<[^>]+>|[▲▼]", "", inside).strip()
        found[words] = attributes + inside
    return found


# --- Sorting -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_the_sortable_columns_are_the_top_level_fields_in_the_spec(kind: str) -> None:
    assert set(SORT_COLUMNS[kind]) == set(SORTABLE[kind])
    assert set(SORT_COLUMNS[kind].values()) <= downlink_fields(kind)
    assert {column: api_field(kind, column) for column in COLUMNS[kind]} == COLUMN_FIELDS[kind]
    assert [column.name for column in list_columns(kind) if column.sortable] == SORTABLE[kind]
    assert len(SORTABLE[kind]) < len(COLUMNS[kind])  # the message's columns are shown, unsorted


@pytest.mark.parametrize("kind", KINDS)
def test_only_sortable_columns_have_a_sort_link(dash: Dashboard, kind: str) -> None:
    dash.api_create(kind)
    for sort in ("", "device", "-modified"):
        shown = headers(list_of(dash, kind, **({"sort": sort} if sort else {})))
        for column in COLUMNS[kind]:
            cell = shown[COLUMN_LABELS[column]]
            if column in SORTABLE[kind]:
                assert re.search(r'<a href="\?[^"]*sort=-?' + column + '"', cell), cell
            else:
                # Nothing that looks like a control or a claim about the order.
                assert cell == COLUMN_LABELS[column], cell


UNSORTABLE_SPELLINGS = [
    (kind, column, spelling)
    for kind, columns in COLUMNS.items()
    for column in columns
    if column not in SORTABLE[kind]
    for name in (column, api_field(kind, column))  # our old URL name, or the API's field
    for spelling in (name, f"-{name}")
]


@pytest.mark.parametrize(("kind", "column", "sort"), UNSORTABLE_SPELLINGS)
def test_an_old_link_sorting_by_a_message_field_shows_newest_first_and_says_so(
    dash: Dashboard, kind: str, column: str, sort: str
) -> None:
    shown = three_downlinks(dash, kind)
    newest_first = shown.ids("z", "y", "x")
    value = COLUMN_VALUES[column]
    by_column = [item["id"] for item in sorted(shown.items.values(), key=value)]
    assert newest_first not in (by_column, by_column[::-1])  # the two orders can be told apart
    before = len(searches(dash, kind))

    response = list_of(dash, kind, sort=sort)

    assert response.status_code == 200
    assert row_ids(response) == newest_first
    note = re.search(r'<p class="notice" id="sort-note" role="status">(.*?)</p>', body_of(response))
    assert note is not None
    assert f"cannot be sorted by {COLUMN_LABELS[column]}" in note.group(1)
    assert "Shown newest first." in note.group(1)
    cells = headers(response)
    assert 'aria-sort="descending"' in cells["Created"]
    assert "▼" in cells["Created"]
    assert cells[COLUMN_LABELS[column]] == COLUMN_LABELS[column]
    assert body_of(response).count("aria-sort=") == 1
    # One search, in the order shown: the message field never reaches the API.
    sent = searches(dash, kind)[before:]
    assert [query["sort"] for query in sent] == [["-createdAt"]]
    assert not any("message." in value for query in searches(dash, kind) for value in query["sort"])


def test_an_old_page_link_of_a_message_sort_starts_again_from_the_first_page(
    dash: Dashboard,
) -> None:
    made = []
    for port in (9, 3, 7, 1, 5):
        made.append(dash.api_create("lora", lora_body(message={"payloadHex": "01", "fPort": port})))
        dash.advance(0.01)
    # A page link of the old list sorted by fPort: the API's cursor for its second page.
    answer = httpx.get(
        f"{dash.simulator.url}{COLLECTIONS['lora']}",
        params={"sort": "message.fPort", "limit": "2"},
        headers={"Authorization": f"Bearer {dash.simulator.token(TENANT)}"},
        timeout=5,
    )
    cursor = cursor_of(answer.json()["next"])
    assert cursor
    before = len(searches(dash, "lora"))

    response = list_of(dash, "lora", sort="port", cursor=cursor, limit="10")

    assert response.status_code == 200
    assert row_ids(response) == [item["id"] for item in made[::-1]]
    assert "Shown newest first, from the first page." in page_text(response)
    (sent,) = searches(dash, "lora")[before:]
    assert sent["sort"] == ["-createdAt"]
    assert "cursor" not in sent


def test_a_sort_the_list_never_offered_is_refused_in_words(dash: Dashboard) -> None:
    # An MQTT field on a LoRa list, a field that is no column, and garbage.
    for sort in ("message.topic", "id", "-retries-"):
        response = list_of(dash, "lora", sort=sort)
        assert response.status_code == 400
        (banner,) = banners(response)
        assert banner == (
            "Some filters are not valid; nothing was looked up. Sort by one of the list's columns."
        )
    assert searches(dash, "lora") == []


# --- Status filters ------------------------------------------------------------------------------


def status_options(response: Any) -> list[str]:
    select = re.search(r'<select name="status"[^>]*>(.*?)</select>', body_of(response), re.DOTALL)
    assert select is not None, "no status select"
    return re.findall(r'<option value="([^"]*)"', select.group(1))


def test_the_lora_status_filter_offers_exactly_the_specs_enum(dash: Dashboard) -> None:
    enum = status_filter("lora")["enum"]
    assert enum == list(STATUS_ORDER)  # the API package's statuses are the spec's
    assert status_options(list_of(dash, "lora")) == ["", *enum]
    before = len(searches(dash, "lora"))
    response = list_of(dash, "lora", status="QUEUED")
    assert response.status_code == 400
    assert field_errors(response)["status"].startswith("Select a valid choice.")
    assert len(searches(dash, "lora")) == before  # the LoRa API would refuse it: not asked


def test_the_mqtt_status_filter_is_open_as_its_spec_has_it(dash: Dashboard) -> None:
    schema = status_filter("mqtt")
    assert schema["type"] == "string"
    assert not {"enum", "pattern", "maxLength"} & set(schema)  # any text at all
    queued = dash.api_create(
        "mqtt", mqtt_body(message={"type": "text", "payload": "sim:STATUS=QUEUED", "topic": "t"})
    )
    dash.api_create("mqtt")
    dash.advance(6)  # past PENDING: the first spends its executing phase as QUEUED
    assert dash.api_get("mqtt", queued["id"])["status"] == "QUEUED"

    page = list_of(dash, "mqtt")
    field = re.search(r'<input type="text" name="status"[^>]*list="([^"]+)"', body_of(page))
    assert field is not None, "the status filter is not a text field with suggestions"
    suggestions = re.search(
        rf'<datalist id="{field.group(1)}">(.*?)</datalist>', body_of(page), re.DOTALL
    )
    assert suggestions is not None
    offered = re.findall(r'<option value="([^"]*)"', suggestions.group(1))
    assert offered == known_statuses("mqtt") == list(STATUS_ORDER)

    for status, expected in (
        ("QUEUED", [queued["id"]]),
        ("queued", []),  # the API matches exactly
        ("waiting for gateway (2)", []),
    ):
        response = list_of(dash, "mqtt", status=status)
        assert response.status_code == 200, status
        assert row_ids(response) == expected, status
        assert searches(dash, "mqtt")[-1]["status"] == [status]
        assert input_value(response, "status") == status


# --- A refused search --------------------------------------------------------------------------

LINK_HINT = "If you followed an old or edited link"


@pytest.mark.parametrize(
    ("kind", "query", "words"),
    [
        ("mqtt", {"status": "QUEUED"}, "downlinks with status “QUEUED”, newest first"),
        (
            "lora",
            {"device": "deveui:00000000000000aa", "sort": "device"},
            "downlinks with device id “deveui:00000000000000aa”, sorted by Device",
        ),
        ("lora", {"sort": "-retries"}, "downlinks, sorted by Retries (descending)"),
    ],
)
def test_a_refused_search_of_filters_just_typed_names_them(
    dash: Dashboard, kind: str, query: dict[str, str], words: str
) -> None:
    dash.fault(kind="error", status=400, method="GET", path=COLLECTIONS[kind])
    response = list_of(dash, kind, **query)
    assert response.status_code == 400
    (banner,) = banners(response)
    assert banner.startswith(f"The Things API refused to search for {words}: "), banner
    assert "a fault injected in the simulator" in banner  # the API's own reason, in its words
    assert LINK_HINT not in banner
    assert searches(dash, kind)  # it was the API that refused, not the form


def test_only_a_refused_search_from_a_page_link_says_the_link_may_be_old(
    dash: Dashboard,
) -> None:
    for _ in range(12):
        dash.api_create("mqtt")
        dash.advance(0.01)
    first = list_of(dash, "mqtt", limit="10", status="PENDING")
    link = re.search(r'<a href="\?([^"]*)"[^>]*rel="next"', body_of(first))
    assert link is not None
    next_query = {
        name: values[0] for name, values in parse_qs(html.unescape(link.group(1))).items()
    }
    assert next_query["cursor"]
    dash.fault(kind="error", status=400, method="GET", path=COLLECTIONS["mqtt"])

    # The same page link, now refused: it may be an old one.
    (banner,) = banners(list_of(dash, "mqtt", **next_query))
    assert banner.startswith("The Things API refused the request")
    assert f"{LINK_HINT}, clear the filters and start again." in banner
    # The same filters without the page link: no link to blame.
    (banner,) = banners(list_of(dash, "mqtt", limit="10", status="PENDING"))
    assert LINK_HINT not in banner
    assert banner.startswith("The Things API refused to search for downlinks with status")
