"""One downlink's page: every field the API gives, the history of status changes the portal
saw, the audit entries of what was done to it from here, the raw JSON, and the live refresh
while it runs."""

from __future__ import annotations

import html
import json
import re
import time
from datetime import datetime
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import httpx
import pytest
from django.conf import settings

from downlinks.templatetags.downlink_tags import SOURCES_IN_WORDS as SEEN_BY
from tests.downlinks.conftest import (
    FORMS,
    LORA_DEVICE,
    MQTT_DEVICE,
    Dashboard,
    banners,
    downlink_id_of,
    lora_body,
    mqtt_body,
    page_text,
    text_of,
)
from tests.downlinks.test_views_list import hex_of, server_timing
from tests.teams.capture import body_of

HTMX = {"HX-Request": "true"}


def facts(response: Any) -> dict[str, str]:
    """The page's facts list (<dt>/<dd> pairs), in words."""
    pairs = re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", body_of(response), re.DOTALL)
    return {name: page_text_of(value) for name, value in pairs}


def page_text_of(fragment: str) -> str:
    return text_of(fragment)


def history(response: Any) -> list[list[str]]:
    table = re.search(
        r'<table class="history"[^>]*>.*?<tbody>(.*?)</tbody>', body_of(response), re.DOTALL
    )
    if table is None:
        return []
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.DOTALL)
    return [[page_text_of(cell) for cell in re.findall(r"<td>(.*?)</td>", row)] for row in rows]


def audit_lines(response: Any) -> list[str]:
    block = re.search(r'<ul class="audit-entries">(.*?)</ul>', body_of(response), re.DOTALL)
    if block is None:
        return []
    return [page_text_of(item) for item in re.findall(r"<li>(.*?)</li>", block.group(1), re.DOTALL)]


# --- Fields --------------------------------------------------------------------------------------


def test_every_field_of_a_lora_downlink(dash: Dashboard) -> None:
    created = dash.api_create(
        "lora",
        lora_body(
            message={"payloadHex": hex_of("sim:NOT_ACKNOWLEDGED_BY_DEVICE"), "fPort": 12},
            retryLimit=2,
            feedbackTimeout="P1DT2H",
        ),
    )
    dash.advance(26)  # PENDING 5 s, EXECUTING 10 s, then 2 retries 5 s apart: DONE at 25 s
    now = dash.api_get("lora", created["id"])
    response = dash.viewer.get(dash.url("detail", "lora", created["id"]))
    assert response.status_code == 200
    shown = facts(response)
    payload_hex = now["message"]["payloadHex"]
    assert shown == {
        "Id": created["id"],
        "Device": LORA_DEVICE,
        "Status": "DONE",
        "Failure reason": "NOT_ACKNOWLEDGED_BY_DEVICE",
        "Payload (hex)": shown["Payload (hex)"],
        "fPort": "12",
        "Retries": "2 of at most 2",
        "Feedback timeout": "1 day 2 hours (P1DT2H)",
        "Dry run": "no",
        "Created": shown["Created"],
        "Last modified": shown["Last modified"],
        "Sent by": "not from this portal",
    }
    assert shown["Payload (hex)"] == f"{payload_hex.upper()} ({len(payload_hex) // 2} bytes)"
    assert "(30 bytes)" in shown["Payload (hex)"]
    page = body_of(response)
    for name in ("createdAt", "modifiedAt"):
        moment = datetime.fromisoformat(now[name].replace("Z", "+00:00"))
        # The machine-readable time and the hover are UTC; the words, the portal's zone.
        utc = f'<time datetime="{moment.isoformat()}" title="{moment:%Y-%m-%d %H:%M:%S} UTC">'
        assert utc in page
        local = moment.astimezone(ZoneInfo(settings.TIME_ZONE))
        assert f"{utc}{local:%-d %b %Y %H:%M:%S} {local.tzname()}</time>" in page
    assert now["createdAt"] != now["modifiedAt"]
    words = page_text(response)
    assert "Failed: NOT_ACKNOWLEDGED_BY_DEVICE" in words
    assert "The device did not acknowledge it, also after the retries." in words
    assert f"LoRa downlink to {LORA_DEVICE}" in words


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        (
            {
                "type": "text",
                "payload": "set <mode> = eco",
                "topic": "cmd/mode",
                "contentType": "text/plain",
                "qos": "AT_MOST_ONCE",
            },
            {
                "Message type": "text",
                "Payload": "set <mode> = eco",
                "Topic": "cmd/mode",
                "Content type": "text/plain",
                "Quality of service": "AT_MOST_ONCE",
            },
        ),
        (
            {"type": "binary", "payload": "AQID", "topic": "bin"},
            {
                "Message type": "binary",
                "Payload": "AQID",
                "Topic": "bin",
                "Content type": "not given",
                "Quality of service": "AT_MOST_ONCE",
            },
        ),
    ],
)
def test_every_field_of_an_mqtt_downlink(
    dash: Dashboard, message: dict[str, str], shown: dict[str, str]
) -> None:
    created = dash.api_create("mqtt", mqtt_body(message=message, dryRun=True))
    response = dash.viewer.get(dash.url("detail", "mqtt", created["id"]))
    assert response.status_code == 200
    expected = {
        "Id": created["id"],
        "Device": MQTT_DEVICE,
        "Status": "PENDING",
        "Failure reason": "none",
        **shown,
        "Feedback timeout": "1 hour (PT1H)",
        "Dry run": "yes (not delivered to the device)",
        "Sent by": "not from this portal",
    }
    got = facts(response)
    assert {name: got[name] for name in expected} == expected
    assert set(got) == set(expected) | {"Created", "Last modified"}
    if "<mode>" in message["payload"]:
        assert "&lt;mode&gt;" in body_of(response)  # escaped, not markup


def test_an_unknown_status_and_failure_reason_are_shown_as_they_are(dash: Dashboard) -> None:
    created = dash.api_create(
        "mqtt",
        mqtt_body(
            message={
                "type": "text",
                "payload": "sim:STATUS=WAITING_FOR_GATEWAY sim:REASON=SOLAR_FLARE",
                "topic": "t",
            }
        ),
    )
    dash.advance(6)
    response = dash.viewer.get(dash.url("detail", "mqtt", created["id"]))
    assert response.status_code == 200
    assert facts(response)["Status"] == "WAITING_FOR_GATEWAY"
    assert "This page refreshes itself until the downlink is done." in page_text(response)
    dash.advance(10)
    response = dash.viewer.get(dash.url("detail", "mqtt", created["id"]))
    assert "Failed: SOLAR_FLARE" in page_text(response)
    assert "The platform reported SOLAR_FLARE." in page_text(response)


# --- History and audit ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["lora", "mqtt"])
def test_the_history_lists_each_status_the_portal_saw_once(dash: Dashboard, kind: str) -> None:
    response = dash.operator.post(dash.url("send", kind), FORMS[kind]())
    downlink_id = downlink_id_of(response)
    url = dash.url("detail", kind, downlink_id)
    assert [row[1:] for row in history(dash.viewer.get(url))] == [
        (
            ["PENDING", "", "0", SEEN_BY["send"]]
            if kind == "lora"
            else ["PENDING", "", SEEN_BY["send"]]
        )
    ]
    dash.advance(6)
    dash.viewer.get(url)
    dash.viewer.get(url)  # seen twice, recorded once
    dash.advance(10)
    dash.viewer.get(dash.url("list", kind))  # a list sees it too
    rows = history(dash.viewer.get(url))
    statuses = [(row[1], row[-1]) for row in rows]
    assert statuses == [
        ("PENDING", SEEN_BY["send"]),
        ("EXECUTING", SEEN_BY["detail"]),
        ("DONE", SEEN_BY["list"]),
    ]
    assert facts(dash.viewer.get(url))["Sent by"] == "ferry-operator, from the portal"


def test_the_history_shows_retries_and_the_failure(dash: Dashboard) -> None:
    response = dash.operator.post(
        dash.url("send", "lora"),
        FORMS["lora"](
            payload_format="text", payload="sim:NOT_ACKNOWLEDGED_BY_DEVICE", retry_limit="2"
        ),
    )
    url = dash.url("detail", "lora", downlink_id_of(response))
    for _ in range(6):  # 0, 5, 10, 15, 20, 25 s: every state of the timeline
        dash.viewer.get(url)
        dash.advance(5)
    rows = [row[1:4] for row in history(dash.viewer.get(url))]
    assert rows == [
        ["PENDING", "", "0"],
        ["EXECUTING", "", "0"],
        ["EXECUTING", "", "1"],
        ["EXECUTING", "", "2"],
        ["DONE", "NOT_ACKNOWLEDGED_BY_DEVICE", "2"],
    ]


def test_the_audit_entries_of_the_downlink_are_listed(dash: Dashboard) -> None:
    downlink_id = downlink_id_of(dash.operator.post(dash.url("send", "lora"), FORMS["lora"]()))
    other = downlink_id_of(
        dash.operator.post(dash.url("send", "lora"), FORMS["lora"](payload="0103"))
    )
    assert dash.operator.post(dash.url("cancel", "lora", downlink_id)).status_code == 302
    lines = audit_lines(dash.viewer.get(dash.url("detail", "lora", downlink_id)))
    # "Accepted by the API", never "succeeded": that would read as delivered.
    assert [line.split(" — ", 1)[1].split(":")[0:2] for line in lines] == [
        ["ferry-operator", " Send asked"],
        ["ferry-operator", " Sent downlink — accepted by the API"],
        ["ferry-operator", " Cancel asked"],
        ["ferry-operator", " Cancel asked — accepted by the API"],
    ]
    assert not any("succeeded" in line.lower() for line in lines)
    assert "Cancellation accepted" in lines[3]
    assert len(audit_lines(dash.viewer.get(dash.url("detail", "lora", other)))) == 2


def test_a_downlink_not_from_the_portal_has_no_history_here(dash: Dashboard) -> None:
    created = dash.api_create("lora")
    words = page_text(dash.viewer.get(dash.url("detail", "lora", created["id"])))
    assert (
        "The portal has not recorded status changes of this downlink (it was not sent or "
        "cancelled from here)."
    ) in words
    assert "No actions on this downlink were taken from the portal." in words


# --- Raw JSON -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["lora", "mqtt"])
def test_the_raw_json_is_what_the_api_said(dash: Dashboard, kind: str) -> None:
    created = dash.api_create(kind)
    raw_url = dash.url("raw", kind, created["id"])
    assert f'href="{raw_url}"' in body_of(dash.viewer.get(dash.url("detail", kind, created["id"])))
    for response in (dash.viewer.get(raw_url), dash.viewer.get(raw_url, headers=HTMX)):
        assert response.status_code == 200
        code = re.search(
            r'<pre class="raw-json"><code>(.*?)</code></pre>', body_of(response), re.DOTALL
        )
        assert code is not None
        assert json.loads(html.unescape(code.group(1))) == dash.api_get(kind, created["id"])
    assert "<html" in body_of(dash.viewer.get(raw_url))
    assert body_of(dash.viewer.get(raw_url, headers=HTMX)).strip().startswith("<pre")


def test_the_raw_json_keeps_fields_the_portal_does_not_know(dash: Dashboard) -> None:
    created = dash.api_create("lora")
    raw = body_of(dash.viewer.get(dash.url("raw", "lora", created["id"])))
    # retryCount is read-only and shown on the page; the raw JSON shows every field sent.
    for field in ("retryCount", "retryLimit", "createdAt", "modifiedAt", "feedbackTimeout"):
        assert f"&quot;{field}&quot;" in raw


# --- Live refresh, fragments, timing --------------------------------------------------------------

LIVE = re.compile(r'<div id="live"[^>]*hx-trigger="every (\d+)s"')


@pytest.mark.parametrize("kind", ["lora", "mqtt"])
def test_the_detail_refreshes_itself_only_while_running(dash: Dashboard, kind: str) -> None:
    created = dash.api_create(kind)
    url = dash.url("detail", kind, created["id"])
    for response in (dash.viewer.get(url), dash.viewer.get(url, headers=HTMX)):
        assert LIVE.search(body_of(response)) is not None
        assert f'hx-get="{url}"' in body_of(response)
        assert "X-Portal-Background" in body_of(response)
        assert "HX-Request" in response["Vary"]
    fragment = body_of(dash.viewer.get(url, headers=HTMX)).strip()
    assert fragment.startswith('<div id="live"')
    assert "<html" not in fragment
    assert "The API's answer" not in fragment  # the raw section is outside the live part
    dash.advance(16)
    for response in (dash.viewer.get(url), dash.viewer.get(url, headers=HTMX)):
        assert response.status_code == 200
        assert LIVE.search(body_of(response)) is None
        assert "hx-trigger" not in body_of(response).split('<div id="live"')[1].split(">")[0]
        assert "Succeeded" in page_text(response)


def test_the_detail_reports_where_its_time_went(dash: Dashboard, server_timing_on: None) -> None:
    created = dash.api_create("mqtt")
    response = dash.viewer.get(dash.url("detail", "mqtt", created["id"]))
    timing = server_timing(response["Server-Timing"])
    assert set(timing) == {"api", "db", "total"}
    assert timing["api"]["desc"] == "1 calls"
    assert float(timing["api"]["dur"]) > 0
    assert int(timing["db"]["desc"].split()[0]) > 0
    assert float(timing["total"]["dur"]) >= float(timing["api"]["dur"])


# --- While the API cannot be read ------------------------------------------------------------

OUTAGE_REFRESH = re.compile(r'<div id="live" hx-get="([^"]+)" hx-trigger="load delay:(\d+)s"')


def outage_refresh(response: Any) -> tuple[str, int]:
    """The URL and delay of the retry a page during an outage asks for."""
    found = OUTAGE_REFRESH.search(body_of(response))
    assert found is not None, "the page does not try again"
    return html.unescape(found.group(1)), int(found.group(2))


def test_while_the_api_fails_the_detail_keeps_what_the_portal_holds(
    dash: Dashboard, quick_failures: None
) -> None:
    downlink_id = downlink_id_of(dash.operator.post(dash.url("send", "lora"), FORMS["lora"]()))
    url = dash.url("detail", "lora", downlink_id)
    seen = history(dash.viewer.get(url))
    dash.fault(kind="error", status=500, path=f"/lora/downlinks/{downlink_id}")
    for response in (dash.viewer.get(url), dash.viewer.get(url, headers=HTMX)):
        assert response.status_code == 502
        assert "The Things API had an internal problem" in " ".join(banners(response))
        assert "Live data from the API missing since" in page_text(response)
        held = facts(response)
        assert held["Id"] == str(downlink_id)
        assert held["Device"] == LORA_DEVICE
        assert history(response) == seen
        assert len(audit_lines(response)) == 2
        assert "Cancel…" not in page_text(response)  # nothing offered on a state not seen now


def test_a_downlink_not_from_the_portal_says_so_while_the_api_fails(
    dash: Dashboard, quick_failures: None
) -> None:
    created = dash.api_create("mqtt")
    dash.fault(kind="error", status=503, path="/mqtt/downlinks/")
    response = dash.viewer.get(dash.url("detail", "mqtt", created["id"]))
    assert response.status_code == 502
    assert facts(response)["Id"] == created["id"]
    assert "holds nothing of its own about it" in page_text(response)


def test_the_retries_back_off_keep_the_start_and_stop_once_the_api_answers(
    dash: Dashboard, quick_failures: None, settings: Any
) -> None:
    downlink_id = downlink_id_of(dash.operator.post(dash.url("send", "lora"), FORMS["lora"]()))
    url = dash.url("detail", "lora", downlink_id)
    dash.fault(kind="error", status=500, path=f"/lora/downlinks/{downlink_id}")
    first = dash.viewer.get(url)
    refresh, delay = outage_refresh(first)
    assert delay == settings.LIVE_REFRESH_SECONDS
    delays = [delay]
    starts = {re.search(r'<time datetime="([^"]+)"', body_of(first)).group(1)}  # type: ignore[union-attr]
    while delays[-1] < settings.LIVE_REFRESH_MAX_SECONDS and len(delays) < 20:
        response = dash.viewer.get(refresh, headers=HTMX)
        starts.add(re.search(r'<time datetime="([^"]+)"', body_of(response)).group(1))  # type: ignore[union-attr]
        refresh, delay = outage_refresh(response)
        delays.append(delay)
    assert delays == sorted(delays), delays
    assert len(set(delays)) == len(delays), delays
    assert delays[-1] == settings.LIVE_REFRESH_MAX_SECONDS
    assert outage_refresh(dash.viewer.get(refresh, headers=HTMX))[1] == delays[-1]
    assert len(starts) == 1  # every retry says the same "missing since"

    dash.clear_faults()
    back = dash.viewer.get(refresh, headers=HTMX)
    assert back.status_code == 200
    assert OUTAGE_REFRESH.search(body_of(back)) is None
    assert LIVE.search(body_of(back)) is not None  # still running: the usual refresh again
    assert f'hx-get="{url}"' in body_of(back)
    assert facts(back)["Status"] == "PENDING"


@pytest.mark.parametrize(
    "query",
    [
        "outage_since=-5&outage_failures=x",
        "outage_since=99999999999999999999&outage_failures=99999999999999",
        "outage_since=%F0%9F%98%80&outage_failures=%D9%A3",
        "outage_since=1&outage_failures=1",
    ],
)
def test_a_made_up_outage_in_the_url_is_not_believed(
    dash: Dashboard, quick_failures: None, settings: Any, query: str
) -> None:
    created = dash.api_create("lora")
    dash.fault(kind="error", status=500, path="/lora/downlinks/")
    response = dash.viewer.get(f"{dash.url('detail', 'lora', created['id'])}?{query}", headers=HTMX)
    assert response.status_code == 502
    refresh, delay = outage_refresh(response)
    assert delay <= settings.LIVE_REFRESH_MAX_SECONDS
    since = re.search(r"outage_since=(\d+)", refresh)
    assert since is not None
    assert abs(int(since.group(1)) - time.time()) < 60


# --- Not found ------------------------------------------------------------------------------------


def test_an_unknown_id_or_the_wrong_kind_is_404(dash: Dashboard) -> None:
    lora = dash.api_create("lora")
    writes = dash.writes()
    for name in ("detail", "raw", "cancel"):
        assert dash.operator.get(dash.url(name, "lora", uuid4())).status_code == 404
        assert dash.operator.get(dash.url(name, "mqtt", lora["id"])).status_code == 404
    assert dash.operator.post(dash.url("cancel", "mqtt", lora["id"])).status_code == 404
    assert dash.writes() == writes


def test_a_downlink_of_another_tenant_is_404(dash: Dashboard) -> None:
    token = dash.simulator.token("someone-else")
    other = httpx.post(
        f"{dash.simulator.url}/lora/downlinks",
        json=lora_body(),
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    ).json()
    writes = dash.writes()
    for name in ("detail", "raw", "cancel"):
        response = dash.admin.get(dash.url(name, "lora", other["id"]))
        assert response.status_code == 404
        assert other["id"] not in body_of(response)
    assert dash.admin.post(dash.url("cancel", "lora", other["id"])).status_code == 404
    assert dash.writes() == writes
    assert dash.calls("DELETE") == 0


# --- Actions offered ------------------------------------------------------------------------------


def test_clone_and_cancel_are_offered_to_operators_while_it_runs(dash: Dashboard) -> None:
    created = dash.api_create("lora")
    url = dash.url("detail", "lora", created["id"])
    clone = f"{dash.url('send', 'lora')}?clone={created['id']}"
    cancel = dash.url("cancel", "lora", created["id"])
    operator_page = body_of(dash.operator.get(url))
    assert clone in operator_page
    assert cancel in operator_page
    viewer_page = body_of(dash.viewer.get(url))
    assert clone not in viewer_page
    assert cancel not in viewer_page
    dash.advance(16)
    done_page = body_of(dash.operator.get(url))
    assert clone in done_page
    assert cancel not in done_page
