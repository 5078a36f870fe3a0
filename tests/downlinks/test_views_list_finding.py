"""Finding a downlink on the lists, against the live simulator (which matches deviceId
exactly, as the API does): a device id in any of its spellings finds the same downlinks,
paged across the merged searches without losing or repeating one; a pasted downlink id opens
that downlink; a bare EUI or IMEI is answered with a one-click "Did you mean"; the outcome
filter reads DONE downlinks page by page, within a bound, and says when it stopped early.

The number of calls is read from the simulator's request log."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from downlinks import selectors
from simulator.request_log import RequestLogEntry
from tests.downlinks.conftest import (
    COLLECTIONS,
    Dashboard,
    banners,
    field_errors,
    lora_body,
    mqtt_body,
    page_text,
)
from tests.teams.capture import body_of
from things_api import equivalent_device_ids

HTMX = {"HX-Request": "true"}
FORM = {**HTMX, "HX-Target": "filtered-list"}  # what the filter form's htmx request sends
EUI = "0004a30b001c0534"
# The same device, stored under three spellings by three integrations.
STORED = ["deveui:0004a30b001c0534", "urn:dev:DEVEUI:0004A30B001C0534:", "DevEUI:0004A30B001C0534"]
TYPED = [
    "deveui:0004a30b001c0534",
    "deveui:0004A30B001C0534",
    "DEVEUI:0004a30b001c0534",
    "DevEUI:0004A30B001C0534",
    "urn:dev:deveui:0004a30b001c0534",
    "urn:dev:deveui:0004a30b001c0534:",
    "urn:dev:DEVEUI:0004A30B001C0534:",
    "URN:DEV:DEVEUI:0004A30B001C0534",
    "DeVeUi:0004A30b001C0534",
]
OTHER_DEVICE = "deveui:0004a30b001c0535"
BARE = "A device id starts with its kind, such as deveui: or imei:."


def hex_of(text: str) -> str:
    return text.encode().hex()


def row_ids(response: Any) -> list[str]:
    return re.findall(r'<tr id="row-([0-9a-f-]{36})"', body_of(response))


def list_of(dash: Dashboard, kind: str, **query: str) -> Any:
    return list_with(dash, kind, {}, query)


def list_with(dash: Dashboard, kind: str, headers: dict[str, str], query: dict[str, str]) -> Any:
    """The list as the filter form asks for it with `headers` (htmx), or a browser with none."""
    return dash.viewer.get(f"{dash.url('list', kind)}?{urlencode(query)}", headers=headers)


def searches(dash: Dashboard, kind: str) -> list[RequestLogEntry]:
    """The searches (not the GETs of one downlink) the simulator answered, in order."""
    return [
        entry
        for entry in dash.simulator.app.request_log.entries()
        if entry.method == "GET" and entry.path == COLLECTIONS[kind]
    ]


def forget_calls(dash: Dashboard) -> None:
    dash.simulator.app.request_log.clear()


def link(response: Any, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]*)"[^>]*rel="{rel}"', body_of(response))
    return found.group(1).replace("&amp;", "&") if found else None


def follow(dash: Dashboard, kind: str, response: Any, rel: str) -> Any:
    href = link(response, rel)
    assert href is not None, f"no {rel} link"
    assert href.startswith("?")
    return dash.viewer.get(f"{dash.url('list', kind)}{href}")


def make_spelled(dash: Dashboard, count: int, spellings: list[str]) -> list[str]:
    """`count` LoRa downlinks of the one device, a millisecond apart, their spellings taken in
    turn, each with its own payload; their ids newest first."""
    ids = []
    for index in range(count):
        body = lora_body(
            deviceId=spellings[index % len(spellings)],
            message={"payloadHex": f"{(index * 37) % 256:02x}{index:02x}", "fPort": 1},
        )
        ids.append(dash.api_create("lora", body)["id"])
        dash.advance(0.001)
    return ids[::-1]


# --- 1. Every spelling of a device id finds the same downlinks --------------------------------


def test_every_spelling_finds_the_downlinks_of_every_stored_spelling(dash: Dashboard) -> None:
    newest_first = make_spelled(dash, 3, STORED)
    dash.api_create("lora", lora_body(deviceId=OTHER_DEVICE))
    for typed in TYPED:
        forget_calls(dash)
        response = list_of(dash, "lora", device=typed)
        assert response.status_code == 200, typed
        assert row_ids(response) == newest_first, typed
        # One search per spelling, each asked once: the API matches exactly.
        asked = [parse_qs(entry.query)["deviceId"][0] for entry in searches(dash, "lora")]
        assert sorted(asked) == sorted(equivalent_device_ids(typed)), typed
        assert len(asked) == (14 if typed in equivalent_device_ids(STORED[0]) else 15)
        assert 'rel="next"' not in body_of(response)
        assert 'rel="prev"' not in body_of(response)
        assert 'rel="first"' not in body_of(response)


@pytest.mark.parametrize(
    ("kind", "stored", "typed", "calls"),
    [
        ("mqtt", "urn:dev:IMEI:350266800610993:", "imei:350266800610993", 6),
        ("mqtt", "IMEI:350266800610993", "urn:dev:imei:350266800610993", 6),
        (
            "lora",
            "dvnuuid:ED8B73AC-F48F-4457-8CCC-9926CF28979F",
            "DVNUUID:ed8b73ac-f48f-4457-8ccc-9926cf28979f",
            12,
        ),
        (
            "lora",
            "urn:dev:dvnuuid:ed8b73ac-f48f-4457-8ccc-9926cf28979f",
            "dvnuuid:ED8B73AC-F48F-4457-8CCC-9926CF28979F",
            12,
        ),
    ],
)
def test_imei_and_dvnuuid_spellings_find_each_other(
    dash: Dashboard, kind: str, stored: str, typed: str, calls: int
) -> None:
    body = (lora_body if kind == "lora" else mqtt_body)(deviceId=stored)
    created = dash.api_create(kind, body)
    forget_calls(dash)
    response = list_of(dash, kind, device=typed)
    assert row_ids(response) == [created["id"]]
    assert len(searches(dash, kind)) == calls


def test_other_filters_go_with_every_spelling(dash: Dashboard) -> None:
    make_spelled(dash, 2, STORED[:2])
    forget_calls(dash)
    response = list_of(dash, "lora", device=STORED[0], status="DONE", sort="device")
    assert response.status_code == 200
    assert row_ids(response) == []  # all still PENDING
    for entry in searches(dash, "lora"):
        query = parse_qs(entry.query)
        assert query["status"] == ["DONE"]
        assert query["sort"] == ["deviceId,-createdAt"]


# --- Paging across the merged searches ------------------------------------------------------


@pytest.mark.parametrize(
    "sort", ["-created", "created", "modified", "-status", "device", "-device"]
)
def test_paging_across_merged_searches_loses_and_repeats_nothing(
    dash: Dashboard, sort: str
) -> None:
    newest_first = make_spelled(dash, 23, STORED)
    everything = row_ids(list_of(dash, "lora", device=STORED[0], sort=sort, limit="100"))
    assert sorted(everything) == sorted(newest_first)
    if sort == "-created":
        assert everything == newest_first
    first = list_of(dash, "lora", device=STORED[1], sort=sort, limit="10")
    assert link(first, "prev") is None
    assert link(first, "first") is None
    second = follow(dash, "lora", first, "next")
    third = follow(dash, "lora", second, "next")
    assert link(third, "next") is None
    # The pages together are the one merged list, in its order, each downlink once.
    assert row_ids(first) + row_ids(second) + row_ids(third) == everything
    assert [len(row_ids(page)) for page in (first, second, third)] == [10, 10, 3]
    for later in (second, third):
        assert link(later, "prev") is None  # no way back through every search...
        back = link(later, "first")  # ...but to the first page
        assert back is not None
        assert "cursor" not in parse_qs(urlsplit(back).query)
        assert parse_qs(urlsplit(back).query)["sort"] == [sort]
        assert row_ids(dash.viewer.get(f"{dash.url('list', 'lora')}{back}")) == row_ids(first)


def test_later_pages_ask_only_the_spellings_that_have_more(dash: Dashboard) -> None:
    # 25 downlinks, taking the two spellings in turn: A has 13 (the newest), B 12.
    newest_first = make_spelled(dash, 25, STORED[:2])
    forget_calls(dash)
    first = list_of(dash, "lora", device=STORED[0], limit="10")
    assert len(searches(dash, "lora")) == 14
    assert row_ids(first) == newest_first[:10]  # 5 of A's first 10 and 5 of B's
    forget_calls(dash)
    second = follow(dash, "lora", first, "next")
    asked = [parse_qs(entry.query) for entry in searches(dash, "lora")]
    # Only the two stored spellings: each page again, from its start, for the 5 not shown
    # yet; and when A's 5 have run out, A's next page (by the API's cursor), before the last
    # row (which might be A's).
    assert sorted((query["deviceId"][0], "cursor" in query) for query in asked) == [
        (STORED[0], False),
        (STORED[0], True),
        (STORED[1], False),
    ]
    assert row_ids(second) == newest_first[10:20]
    forget_calls(dash)
    third = follow(dash, "lora", second, "next")
    assert row_ids(third) == newest_first[20:]
    asked = [parse_qs(entry.query) for entry in searches(dash, "lora")]
    assert sorted(query["deviceId"][0] for query in asked) == sorted(STORED[:2])
    assert all("cursor" in query for query in asked)  # each on its second page now
    assert link(third, "next") is None


def test_a_downlink_made_meanwhile_does_not_shift_the_pages(dash: Dashboard) -> None:
    newest_first = make_spelled(dash, 15, STORED)
    first = list_of(dash, "lora", device=STORED[2], limit="10")
    next_href = link(first, "next")
    dash.api_create("lora", lora_body(deviceId=STORED[1]))  # the newest now
    assert next_href is not None
    second = dash.viewer.get(f"{dash.url('list', 'lora')}{next_href}")
    assert row_ids(second) == newest_first[10:]


def test_the_page_size_setting_applies_to_merged_searches(dash: Dashboard, settings: Any) -> None:
    settings.THINGS_PAGE_SIZE = 3
    newest_first = make_spelled(dash, 4, STORED)
    forget_calls(dash)
    response = list_of(dash, "lora", device=STORED[0])
    assert row_ids(response) == newest_first[:3]
    assert {parse_qs(entry.query)["limit"][0] for entry in searches(dash, "lora")} == {"3"}


def test_a_page_token_too_long_for_a_link_is_not_offered(
    dash: Dashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_spelled(dash, 12, STORED)
    monkeypatch.setattr(selectors, "PAGE_TOKEN_MAX_CHARS", 40)
    response = list_of(dash, "lora", device=STORED[0], limit="10")
    assert len(row_ids(response)) == 10
    assert link(response, "next") is None
    assert "There are more, stored under too many spellings of this device id" in page_text(
        response
    )


@pytest.mark.parametrize(
    "edit",
    [
        lambda token: token[:-4],  # cut short
        lambda token: "p1." + "A" * 40,  # not ours
        lambda token: "garbage",
    ],
)
def test_an_edited_page_token_is_explained(dash: Dashboard, edit: Any) -> None:
    make_spelled(dash, 12, STORED)
    first = list_of(dash, "lora", device=STORED[0], limit="10")
    href = link(first, "next")
    assert href is not None
    query = {name: values[0] for name, values in parse_qs(urlsplit(href).query).items()}
    query["cursor"] = edit(query["cursor"])
    response = list_of(dash, "lora", **query)
    assert response.status_code == 400
    (banner,) = banners(response)
    assert "If you followed an old or edited link, clear the filters and start again." in banner
    assert "Traceback" not in body_of(response)


def test_a_page_token_of_other_filters_is_refused_not_misread(dash: Dashboard) -> None:
    make_spelled(dash, 12, STORED)
    href = link(list_of(dash, "lora", device=STORED[0], limit="10"), "next")
    assert href is not None
    query = {name: values[0] for name, values in parse_qs(urlsplit(href).query).items()}
    for changed in ({"device": OTHER_DEVICE}, {"status": "PENDING"}, {"limit": "25"}):
        forget_calls(dash)
        response = list_of(dash, "lora", **{**query, **changed})
        assert response.status_code == 400, changed
        assert "This page link does not fit these filters." in banners(response)[0]
        assert searches(dash, "lora") == []


def test_one_failing_spelling_fails_the_page_with_a_banner(
    dash: Dashboard, quick_failures: None
) -> None:
    make_spelled(dash, 2, STORED)
    dash.fault(kind="error", status=500, method="GET", path="/lora/downlinks", times=1)
    response = list_of(dash, "lora", device=STORED[0])
    assert response.status_code == 502
    assert banners(response)[0].startswith("The Things API had an internal problem")
    assert row_ids(response) == []


def test_the_merged_searches_share_the_pages_deadline(dash: Dashboard, settings: Any) -> None:
    """The searches run at the same time, each inside the page's time budget: a hanging API
    gives the banner after the deadline, not after the read timeout of each search."""
    settings.THINGS_PAGE_DEADLINE_SECONDS = 1.5
    settings.THINGS_READ_TIMEOUT = 30.0
    settings.THINGS_RETRY_ATTEMPTS = 1
    dash.fault(kind="latency", delayMs=8000, method="GET", path="/lora/downlinks")
    started = time.monotonic()
    response = list_of(dash, "lora", device=STORED[0])
    elapsed = time.monotonic() - started
    assert response.status_code == 504
    assert "did not answer within" in banners(response)[0]
    assert elapsed < 6.0  # well before a single search's 8 s, let alone 14 of them


# --- 2. A pasted downlink id opens it ---------------------------------------------------------


@pytest.mark.parametrize("kind", ["lora", "mqtt"])
def test_a_pasted_downlink_id_opens_the_downlink(dash: Dashboard, kind: str) -> None:
    created = dash.api_create(kind)
    detail = dash.url("detail", kind, created["id"])
    for pasted in (created["id"], created["id"].upper(), f"  {created['id']} "):
        forget_calls(dash)
        response = list_of(dash, kind, device=pasted)
        assert response.status_code == 302
        assert response["Location"] == detail
        assert dash.calls("GET", f"{COLLECTIONS[kind]}/") == 1  # one GET by id, no search
        assert searches(dash, kind) == []
    # The filter form (htmx) is told to go there as a whole page.
    response = list_with(dash, kind, FORM, {"device": created["id"]})
    assert response.status_code == 204
    assert response["HX-Redirect"] == detail


def test_an_unknown_downlink_id_is_said_in_place(dash: Dashboard) -> None:
    other_kind = dash.api_create("mqtt")
    dash.api_create("lora")
    for pasted, headers in (
        (other_kind["id"], {}),
        (other_kind["id"], FORM),
    ):
        response = list_with(dash, "lora", headers, {"device": pasted})
        assert response.status_code == 200
        text = page_text(response)
        assert f"No downlink with id {pasted} in this team." in text
        assert row_ids(response) == []
        assert "look among the MQTT downlinks" in text
        assert f'href="/t/ferry/mqtt/?device={pasted}"' in body_of(response)
    # That link opens it.
    assert list_of(dash, "mqtt", device=other_kind["id"]).status_code == 302


def test_a_uuid_that_is_a_device_id_still_lists_that_device(dash: Dashboard) -> None:
    device = "478a82d4-128f-47a6-aa61-2eac3f2a23ad"
    lower = dash.api_create("lora", lora_body(deviceId=device))
    upper = dash.api_create("lora", lora_body(deviceId=device.upper()))
    response = list_of(dash, "lora", device=device)
    assert response.status_code == 200
    assert sorted(row_ids(response)) == sorted([lower["id"], upper["id"]])
    text = page_text(response)
    assert (
        f"No downlink with id {device} in this team; below are the downlinks of the device" in text
    )


def test_a_uuid_on_a_later_page_is_not_looked_up_again(dash: Dashboard) -> None:
    device = "478a82d4-128f-47a6-aa61-2eac3f2a23ad"
    for _ in range(12):
        dash.api_create("lora", lora_body(deviceId=device))
        dash.advance(0.001)
    first = list_of(dash, "lora", device=device, limit="10")
    forget_calls(dash)
    second = follow(dash, "lora", first, "next")
    assert len(row_ids(second)) == 2
    assert dash.calls("GET", "/lora/downlinks/") == 0


# --- 3. A bare EUI or IMEI: "Did you mean" ----------------------------------------------------


def suggestions(response: Any) -> list[tuple[str, str]]:
    found = re.search(r'<p class="did-you-mean"[^>]*>(.*?)</p>', body_of(response), re.DOTALL)
    if found is None:
        return []
    return [
        (text, href.replace("&amp;", "&"))
        for href, text in re.findall(r'<a href="([^"]*)"[^>]*>([^<]*)</a>', found.group(1))
    ]


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        (EUI, ["deveui:0004a30b001c0534"]),
        ("00-04-A3-0B-00-1C-05-34", ["deveui:0004A30B001C0534"]),
        ("350266800610993", ["imei:350266800610993"]),
        ("3502668006109931", ["deveui:3502668006109931", "imei:3502668006109931"]),
    ],
)
def test_a_bare_eui_or_imei_offers_the_device_id_it_means(
    dash: Dashboard, typed: str, meant: list[str]
) -> None:
    forget_calls(dash)
    response = list_of(dash, "lora", device=typed, status="PENDING", cursor="stale")
    assert response.status_code == 400
    error = field_errors(response)["device"]
    assert error == f"“{typed}” is not a device id. {BARE}"
    offered = suggestions(response)
    assert [text for text, _ in offered] == meant
    assert f"Did you mean {' or '.join(meant)} ?" in page_text(response)  # (a tag, a space)
    for device_id, href in offered:
        query = parse_qs(urlsplit(href).query)
        assert urlsplit(href).path == dash.url("list", "lora")
        assert query == {"device": [device_id], "status": ["PENDING"]}  # the stale cursor gone
    assert dash.calls() == 0


def test_did_you_mean_leads_to_the_downlink(dash: Dashboard) -> None:
    created = dash.api_create("lora", lora_body(deviceId=STORED[1]))
    response = list_with(dash, "lora", FORM, {"device": EUI})
    assert response.status_code == 400
    ((_, href),) = suggestions(response)
    assert f'hx-get="{href.replace("&", "&amp;")}"' in body_of(response)
    followed = dash.viewer.get(href, headers=FORM)
    assert followed.status_code == 200
    assert row_ids(followed) == [created["id"]]
    assert suggestions(followed) == []
    assert field_errors(followed) == {}


@pytest.mark.parametrize(
    ("typed", "sentence"),
    [
        ("sensor-17", "Use imei:…, deveui:…, dvnuuid:… (each also as urn:dev:…) or a UUID."),
        ("imei:123", "After imei: come 15 or 16 digits."),
        ("deveui:0004a30b001c053", "After deveui: come 16 hexadecimal characters (0-9, a-f)."),
    ],
)
def test_other_invalid_ids_get_one_short_sentence(
    dash: Dashboard, typed: str, sentence: str
) -> None:
    response = list_of(dash, "mqtt", device=typed)
    assert response.status_code == 400
    assert field_errors(response)["device"] == f"“{typed}” is not a device id. {sentence}"
    assert suggestions(response) == []
    assert dash.calls() == 0


# --- 4. The outcome filter --------------------------------------------------------------------


def finished(dash: Dashboard, kind: str, markers: list[str]) -> list[str]:
    """A downlink per marker ("" succeeds), a millisecond apart, all DONE; ids newest first."""
    body = lora_body if kind == "lora" else mqtt_body
    ids = []
    for marker in markers:
        if kind == "lora":
            message = {"payloadHex": hex_of(marker) or "01", "fPort": 1}
        else:
            message = {"type": "text", "payload": marker or "hello", "topic": "t"}
        ids.append(dash.api_create(kind, body(message=message))["id"])
        dash.advance(0.001)
    dash.advance(20)
    return ids[::-1]


@pytest.mark.parametrize("kind", ["lora", "mqtt"])
def test_the_outcome_filter_shows_only_that_outcome(dash: Dashboard, kind: str) -> None:
    markers = ["", "sim:FEEDBACK_TIMEOUT", "", "sim:FAILED_TO_TRANSMIT_TO_DEVICE", "sim:REASON=ODD"]
    ids = finished(dash, kind, markers)[::-1]  # in the order of `markers`
    running = dash.api_create(kind)["id"]
    cases = {
        "succeeded": [ids[2], ids[0]],
        "failed": [ids[4], ids[3], ids[1]],
        "FEEDBACK_TIMEOUT": [ids[1]],
        "FAILED_TO_TRANSMIT_TO_DEVICE": [ids[3]],
        "CANCELLED": [],
    }
    for outcome, expected in cases.items():
        forget_calls(dash)
        response = list_of(dash, kind, outcome=outcome)
        assert response.status_code == 200, outcome
        assert row_ids(response) == expected, outcome
        assert running not in row_ids(response)
        (asked,) = searches(dash, kind)  # one page held them all
        assert parse_qs(asked.query)["status"] == ["DONE"]
        assert "Looked through" not in page_text(response)
    assert list_of(dash, kind).status_code == 200


def test_the_outcome_filter_offers_the_kinds_failure_reasons(dash: Dashboard) -> None:
    lora = body_of(list_of(dash, "lora"))
    mqtt = body_of(list_of(dash, "mqtt"))
    for reason in ("EVICTED", "NOT_ACKNOWLEDGED_BY_DEVICE", "FEEDBACK_TIMEOUT"):
        assert f'<option value="{reason}">Failed: {reason}</option>' in lora
    assert '<option value="EVICTED">' not in mqtt
    assert '<option value="succeeded">Succeeded</option>' in mqtt
    response = list_of(dash, "mqtt", outcome="EVICTED")
    assert response.status_code == 400
    assert "outcome" in field_errors(response)


def test_an_outcome_needs_done_or_any_status(dash: Dashboard) -> None:
    response = list_of(dash, "lora", outcome="failed", status="PENDING")
    assert response.status_code == 400
    assert field_errors(response)["outcome"] == (
        "Only finished downlinks have an outcome: choose Any status or DONE."
    )
    assert dash.calls() == 0
    assert list_of(dash, "lora", outcome="failed", status="DONE").status_code == 200


def test_the_outcome_filter_reads_within_its_bound_and_says_when_it_stopped(
    dash: Dashboard, settings: Any
) -> None:
    settings.THINGS_OUTCOME_SCAN_PAGES = 3
    settings.THINGS_PAGE_SIZE = 10
    newest_first = finished(dash, "lora", ["sim:EVICTED"] + [""] * 40)
    evicted = newest_first[-1]  # the oldest
    forget_calls(dash)
    first = list_of(dash, "lora", outcome="EVICTED")
    assert len(searches(dash, "lora")) == 3
    assert row_ids(first) == []
    text = page_text(first)
    assert "None of the downlinks looked through so far match these filters." in text
    assert (
        "Looked through the 30 most recent finished downlinks; there may be more — Show more"
        in text
    )
    forget_calls(dash)
    more = follow(dash, "lora", first, "next")
    assert row_ids(more) == [evicted]
    assert len(searches(dash, "lora")) == 2  # the other 11: one page of 10, one of 1
    assert "Looked through" not in page_text(more)
    assert link(more, "next") is None
    assert link(more, "first") is not None


def test_outcome_pages_continue_mid_page_without_loss_or_repeats(
    dash: Dashboard, settings: Any
) -> None:
    settings.THINGS_PAGE_SIZE = 10
    markers = ["" if index % 3 else "sim:EVICTED" for index in range(40)]
    newest_first = finished(dash, "lora", markers)
    failed = [id_ for id_, marker in zip(newest_first, markers[::-1], strict=True) if marker]
    succeeded = [id_ for id_ in newest_first if id_ not in failed]
    for outcome, expected in (("failed", failed), ("succeeded", succeeded)):
        shown: list[str] = []
        response = list_of(dash, "lora", outcome=outcome, limit="10")
        while True:
            shown += row_ids(response)
            if link(response, "next") is None:
                break
            response = follow(dash, "lora", response, "next")
        assert shown == expected, outcome


def test_an_outcome_filter_with_a_device_reads_every_spelling(dash: Dashboard) -> None:
    for index, spelling in enumerate(STORED):
        marker = "sim:EVICTED" if index else ""
        dash.api_create(
            "lora",
            lora_body(
                deviceId=spelling, message={"payloadHex": hex_of(marker) or "01", "fPort": 1}
            ),
        )
        dash.advance(0.001)
    dash.advance(20)
    forget_calls(dash)
    response = list_of(dash, "lora", device=EUI.join(["deveui:", ""]), outcome="EVICTED")
    assert len(row_ids(response)) == 2
    assert len(searches(dash, "lora")) == 14


def test_short_of_time_the_outcome_filter_stops_and_offers_more(
    dash: Dashboard, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With less than the reserve left of the page's deadline, no further page is read: the
    page shows what it found, and Show more (not a timeout banner)."""
    settings.THINGS_PAGE_SIZE = 10
    newest_first = finished(dash, "lora", ["", "sim:EVICTED"] * 12)
    monkeypatch.setattr(
        selectors, "FURTHER_PAGE_RESERVE_SECONDS", settings.THINGS_PAGE_DEADLINE_SECONDS + 1
    )
    forget_calls(dash)
    response = list_of(dash, "lora", outcome="failed", limit="10")
    assert response.status_code == 200
    assert row_ids(response) == newest_first[:10:2]  # the 5 failures among the newest 10
    assert len(searches(dash, "lora")) == 1
    text = page_text(response)
    assert "Looked through the 10 most recent finished downlinks; there may be more" in text
    monkeypatch.undo()
    more = follow(dash, "lora", response, "next")
    assert row_ids(more) == newest_first[10::2]
    assert "Looked through" not in page_text(more)
