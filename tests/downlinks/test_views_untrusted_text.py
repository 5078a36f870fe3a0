"""Text from the Things API and from people, on every page that shows it: a bidi control or
an invisible character is written out (`⟨U+202E⟩`) and the value isolated in `<bdi>`, so the
topic `abc\\u202egnp.exe` never reads "abcexe.png", on the pages and in the audit CSV."""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.http import StreamingHttpResponse
from django.test import Client

from audit.models import Action, AuditEntry, Phase
from downlinks.models import Downlink
from teams.models import Role
from tests.downlinks.conftest import Dashboard, banners, mqtt_body, mqtt_form, page_text
from tests.downlinks.test_views_detail import audit_lines, facts
from tests.teams.capture import body_of
from tests.teams.world import join, make_team, make_user, sign_in, static_token

TOPIC = "abc\u202egnp.exe"
SHOWN = "abc⟨U+202E⟩gnp.exe"
HIDDEN = ("\u202e", "\u2066", "\u200b", "\ufeff")


def assert_nothing_hidden(text: str) -> None:
    assert not [char for char in HIDDEN if char in text], "a hidden character went out as it is"


def row_of(page: str, downlink_id: str) -> str:
    return page.split(f'id="row-{downlink_id}"')[1].split("</tr>")[0]


@pytest.fixture
def tricky(dash: Dashboard) -> dict[str, object]:
    """An MQTT downlink made elsewhere, with hidden characters in every text it has."""
    return dash.api_create(
        "mqtt",
        mqtt_body(
            message={
                "type": "text",
                "payload": "\ufeff<b>on</b>\u200b",
                "topic": TOPIC,
                "contentType": "text/\u2066plain",
            }
        ),
    )


def test_the_list_writes_out_a_bidi_topic_and_payload(
    dash: Dashboard, tricky: dict[str, str]
) -> None:
    page = body_of(dash.viewer.get(dash.url("list", "mqtt")))
    row = row_of(page, tricky["id"])
    assert f"<td><bdi>{SHOWN}</bdi></td>" in row
    assert '<td class="payload"><bdi>“⟨U+FEFF⟩&lt;b&gt;on&lt;/b&gt;⟨U+200B⟩”</bdi></td>' in row
    assert_nothing_hidden(page)


def test_the_detail_writes_out_every_text_of_the_downlink(
    dash: Dashboard, tricky: dict[str, str]
) -> None:
    response = dash.viewer.get(dash.url("detail", "mqtt", tricky["id"]))
    shown = facts(response)
    assert shown["Topic"] == SHOWN
    assert shown["Content type"] == "text/⟨U+2066⟩plain"
    assert shown["Payload"] == "⟨U+FEFF⟩<b>on</b>⟨U+200B⟩"  # in words: the tags are text
    page = body_of(response)
    assert f"<dt>Topic</dt><dd><bdi>{SHOWN}</bdi></dd>" in page
    assert "<b>on</b>" not in page
    assert_nothing_hidden(page)


@pytest.fixture
def sent(dash: Dashboard) -> Downlink:
    """An MQTT downlink sent from the portal to the topic, so the audit trail names it."""
    response = dash.operator.post(dash.url("send", "mqtt"), mqtt_form(topic=TOPIC))
    assert response.status_code == 302, page_text(response)
    return Downlink.objects.get()


def test_the_audit_entries_of_a_downlink_write_out_the_topic(
    dash: Dashboard, sent: Downlink
) -> None:
    detail = dash.viewer.get(dash.url("detail", "mqtt", sent.remote_id))
    [attempt_line, _] = audit_lines(detail)
    assert attempt_line.endswith(f": Send MQTT downlink: text “hello” to {SHOWN}")
    assert f": <bdi>Send MQTT downlink: text “hello” to {SHOWN}</bdi></li>" in body_of(detail)
    assert_nothing_hidden(body_of(detail))


def test_the_page_of_a_refused_attempt_writes_out_the_topic(dash: Dashboard) -> None:
    dash.fault(kind="error", status=400, method="POST", path="/mqtt/downlinks", times=1)
    refused = dash.operator.post(dash.url("send", "mqtt"), mqtt_form(topic=TOPIC))
    assert refused.status_code == 400
    record = Downlink.objects.get()
    attempt = dash.viewer.get(dash.attempt_url("mqtt", record.pk))
    assert attempt.status_code == 200
    assert facts(attempt)["Message"] == f"text “hello” to {SHOWN}"
    [attempt_line, _] = audit_lines(attempt)
    assert attempt_line.endswith(f": Send MQTT downlink: text “hello” to {SHOWN}")
    assert_nothing_hidden(body_of(attempt))


def test_the_team_audit_page_writes_out_the_topic(dash: Dashboard, sent: Downlink) -> None:
    page = body_of(dash.admin.get(f"/t/{dash.team.slug}/audit/"))
    assert f"<td><bdi>Send MQTT downlink: text “hello” to {SHOWN}</bdi></td>" in page
    assert_nothing_hidden(page)


def test_the_audit_csv_writes_out_the_topic_without_markup(dash: Dashboard, sent: Downlink) -> None:
    response = dash.admin.get(f"/t/{dash.team.slug}/audit.csv")
    assert isinstance(response, StreamingHttpResponse)
    text = response.getvalue().decode()
    assert_nothing_hidden(text)
    assert "<bdi>" not in text
    [header, *rows] = csv.reader(io.StringIO(text))
    summaries = [dict(zip(header, row, strict=True))["summary"] for row in rows]
    assert f"Send MQTT downlink: text “hello” to {SHOWN}" in summaries
    # The trail itself keeps what was sent, as it was: only what is shown is written out.
    attempt = AuditEntry.objects.get(action=Action.DOWNLINK_SEND, phase=Phase.ATTEMPT)
    assert attempt.summary == f"Send MQTT downlink: text “hello” to {TOPIC}"


# --- Banners ---------------------------------------------------------------------------------

PROBLEM_DETAIL = "no access to abc\u202egnp.exe"


@pytest.fixture
def refusing_api() -> Iterator[str]:
    """A Things API that refuses everything with a Problem whose detail hides a bidi control."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(
                {
                    "type": "about:blank",
                    "title": "Forbidden",
                    "status": 403,
                    "detail": PROBLEM_DETAIL,
                }
            ).encode()
            self.send_response(403)
            self.send_header("Content-Type", "application/problem+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_problem_detail_in_a_banner_is_written_out(db: None, refusing_api: str) -> None:
    team = make_team("refused", "Refused")
    static_token(team, refusing_api, "some-token")
    viewer = make_user("refused-viewer")
    join(viewer, team, Role.VIEWER)
    response = sign_in(Client(), viewer).get(f"/t/{team.slug}/mqtt/")
    assert response.status_code == 502
    [banner] = banners(response)
    assert "Forbidden: no access to abc⟨U+202E⟩gnp.exe" in banner
    assert_nothing_hidden(body_of(response))
