"""A team with a working Things credential against the live simulator, and its people, for
the dashboard's tests (lists, detail, send, cancel, faults).

Nothing of ours is mocked: the portal talks HTTP to the simulator, faults are injected
through the simulator's control API, and "no API call was made" is read from the
simulator's own request log.
"""

from __future__ import annotations

import html as html_module
import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from benchmarks.simulated_team import team_on_simulator
from simulator.server import RunningSimulator
from teams.models import Role, Team
from tests.polling import wait_until
from tests.teams.capture import body_of
from tests.teams.world import join, make_user, sign_in

TENANT = "ferry-tenant"
CLIENT_ID = "ferry-portal"
CLIENT_SECRET = "ferry-client-secret-5d2e9A"
LORA_DEVICE = "urn:dev:deveui:ea8fa35e2cf3489f"
MQTT_DEVICE = "imei:350266800610993"
KINDS = ("lora", "mqtt")
COLLECTIONS = {"lora": "/lora/downlinks", "mqtt": "/mqtt/downlinks"}


def lora_body(**changes: Any) -> dict[str, Any]:
    """A valid LoRa create body, as the API takes it, with `changes` to its top-level fields."""
    return {
        "deviceId": LORA_DEVICE,
        "message": {"payloadHex": "0102", "fPort": 1},
        "feedbackTimeout": "PT1H",
        "retryLimit": 0,
    } | changes


def mqtt_body(**changes: Any) -> dict[str, Any]:
    """A valid MQTT create body (a text message), with `changes` to its top-level fields."""
    return {
        "deviceId": MQTT_DEVICE,
        "message": {"type": "text", "payload": "hello", "topic": "downlink"},
        "feedbackTimeout": "PT1H",
    } | changes


def send_form(device_id: str, **fields: str) -> dict[str, str]:
    """A send form for `device_id` as a browser posts it: each call a new rendering of the form,
    with its own one-time key, and feedback awaited for an hour."""
    return {
        "submission_key": uuid4().hex,
        "device_id": device_id,
        **fields,
        "timeout_days": "0",
        "timeout_hours": "1",
        "timeout_minutes": "0",
    }


def lora_form(**changes: str) -> dict[str, str]:
    """A valid LoRa send form, with `changes` to its fields."""
    fields = send_form(
        LORA_DEVICE, payload_format="hex", payload="0102", f_port="1", retry_limit="0"
    )
    return fields | changes


def mqtt_form(**changes: str) -> dict[str, str]:
    """A valid MQTT send form (a text message), with `changes` to its fields."""
    fields = send_form(
        MQTT_DEVICE,
        message_type="text",
        payload_format="base64",
        payload="hello",
        topic="downlink",
        content_type="",
        qos="",
    )
    return fields | changes


FORMS = {"lora": lora_form, "mqtt": mqtt_form}
BODIES = {"lora": lora_body, "mqtt": mqtt_body}


@dataclass(frozen=True)
class Dashboard:
    """The team "ferry" whose credential points at the live simulator (tenant TENANT), with
    a signed-in client per role."""

    team: Team
    simulator: RunningSimulator
    viewer_user: User
    operator_user: User
    admin_user: User
    viewer: Client
    operator: Client
    admin: Client

    # --- URLs ---------------------------------------------------------------------------------

    def url(self, name: str, kind: str | None = None, downlink_id: object = None) -> str:
        kwargs: dict[str, object] = {"team_slug": self.team.slug}
        if kind is not None:
            kwargs["kind"] = kind
        if downlink_id is not None:
            kwargs["downlink_id"] = downlink_id
        return reverse(f"downlinks:{name}", kwargs=kwargs)

    def attempt_url(self, kind: str, record_id: int) -> str:
        """The page of one send attempt (the portal's record of a create)."""
        return reverse(
            "downlinks:attempt",
            kwargs={"team_slug": self.team.slug, "kind": kind, "record_id": record_id},
        )

    # --- The simulator, from the outside --------------------------------------------------------

    def fault(self, **rule: object) -> None:
        """Add a fault rule through the simulator's control API."""
        response = httpx.post(f"{self.simulator.url}/_sim/faults", json=rule, timeout=5)
        response.raise_for_status()

    def clear_faults(self) -> None:
        httpx.delete(f"{self.simulator.url}/_sim/faults", timeout=5).raise_for_status()

    def api_create(self, kind: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Create a downlink in the team's tenant straight through the simulator's API (as
        another tool of the team would), not through the portal."""
        token = self.simulator.token(TENANT)
        response = httpx.post(
            f"{self.simulator.url}{COLLECTIONS[kind]}",
            json=body if body is not None else BODIES[kind](),
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def api_get(self, kind: str, downlink_id: object) -> dict[str, Any]:
        token = self.simulator.token(TENANT)
        response = httpx.get(
            f"{self.simulator.url}{COLLECTIONS[kind]}/{downlink_id}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    def calls(self, method: str | None = None, path: str | None = None) -> int:
        """How many API calls (not control calls) the simulator answered, by method and path
        prefix."""
        return self.simulator.app.request_log.count(method=method, path=path)

    def calls_once_answered(self, method: str, path: str, expected: int = 1) -> int:
        """The count of such calls, once `expected` of them are in the log: the simulator
        logs a call when it has answered, and a held (timeout) answer comes late."""
        wait_until(lambda: self.calls(method, path) >= expected, timeout=15)
        return self.calls(method, path)

    def writes(self) -> int:
        """Creates and cancels the simulator received, of either kind."""
        return sum(
            self.calls(method, prefix)
            for method in ("POST", "DELETE")
            for prefix in COLLECTIONS.values()
        )

    def advance(self, seconds: float) -> None:
        """Move the simulator's time on (its lifecycle follows); never a sleep."""
        self.simulator.clock.advance(seconds)


def make_dashboard(simulator: RunningSimulator, slug: str = "ferry") -> Dashboard:
    team = team_on_simulator(
        simulator,
        slug,
        "Ferry Operations",
        tenant_id=TENANT,
        client_id=CLIENT_ID,
        secret=CLIENT_SECRET,
    )
    users = {}
    clients = {}
    for role in (Role.VIEWER, Role.OPERATOR, Role.ADMIN):
        user = make_user(f"{slug}-{role.value}")
        join(user, team, role)
        users[role] = user
        clients[role] = sign_in(Client(), user)
    return Dashboard(
        team=team,
        simulator=simulator,
        viewer_user=users[Role.VIEWER],
        operator_user=users[Role.OPERATOR],
        admin_user=users[Role.ADMIN],
        viewer=clients[Role.VIEWER],
        operator=clients[Role.OPERATOR],
        admin=clients[Role.ADMIN],
    )


@pytest.fixture
def dash(db: None, simulator: RunningSimulator) -> Dashboard:
    return make_dashboard(simulator)


@pytest.fixture
def server_timing_on(settings: Any) -> None:
    """Server-Timing headers, as `make run` has them (production leaves them off)."""
    settings.SERVER_TIMING = True


@pytest.fixture
def quick_failures(settings: Any) -> None:
    """Reads are tried once and time out after a second, so fault tests stay fast.

    (The cached API clients are built on first use, after this fixture has run.)"""
    settings.THINGS_RETRY_ATTEMPTS = 1
    settings.THINGS_READ_TIMEOUT = 1.0


# --- Reading pages ------------------------------------------------------------------------------

TAG = re.compile(r"<[^>]+>")
ISOLATE = re.compile(r"</?bdi>")  # around untrusted text; inline, so no break between words
SPACE = re.compile(r"\s+")


def text_of(html: str) -> str:
    """The words of an HTML fragment: tags dropped, entities decoded, whitespace collapsed."""
    words = html_module.unescape(TAG.sub(" ", ISOLATE.sub("", html)))
    return SPACE.sub(" ", words).strip()


def page_text(response: Any) -> str:
    return text_of(body_of(response))


def banners(response: Any) -> list[str]:
    """The words of every banner (class "banner", role alert) on the page."""
    html = body_of(response)
    found = re.findall(r'<div class="banner" role="alert"[^>]*>(.*?)</div>', html, re.DOTALL)
    return [text_of(banner) for banner in found]


def field_errors(response: Any) -> dict[str, str]:
    """The error shown under each field of a form page, by field name."""
    html = body_of(response)
    errors: dict[str, str] = {}
    for name, message in re.findall(
        r'<small class="field-error" id="id_(\w+)_error"[^>]*>(.*?)</small>', html, re.DOTALL
    ):
        errors[name] = text_of(message)
    return errors


def input_value(response: Any, name: str) -> str | None:
    """The value a form page shows in the input or textarea `name` (None: no such field)."""
    html = body_of(response)
    textarea = re.search(rf'<textarea name="{name}"[^>]*>(.*?)</textarea>', html, re.DOTALL)
    if textarea:
        return html_module.unescape(textarea.group(1).removeprefix("\n"))
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    if tag is None:
        return None
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return html_module.unescape(value.group(1)) if value else ""


def selected_option(response: Any, name: str) -> str | None:
    html = body_of(response)
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.DOTALL)
    if select is None:
        return None
    chosen = re.search(r'<option value="([^"]*)"[^>]*selected', select.group(1))
    return chosen.group(1) if chosen else None


def checked_radio(response: Any, name: str) -> str | None:
    html = body_of(response)
    for tag in re.findall(rf'<input[^>]*name="{name}"[^>]*>', html):
        if " checked" in tag:
            value = re.search(r'value="([^"]*)"', tag)
            return value.group(1) if value else None
    return None


def is_checked(response: Any, name: str) -> bool:
    html = body_of(response)
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    return tag is not None and " checked" in tag.group(0)


def downlink_id_of(response: Any) -> UUID:
    """The id of the downlink a successful send redirected to."""
    assert response.status_code == 302, response.status_code
    match = re.search(r"/([0-9a-f-]{36})/$", response["Location"])
    assert match is not None, response["Location"]
    return UUID(match.group(1))


def form_values(response: Any) -> dict[str, str]:
    """What a browser would post from the page's send form, as the page fills it in."""
    return send_form_values(body_of(response))


def send_form_values(html: str) -> dict[str, str]:
    """What a browser would post from the send form in `html` (the CSRF token aside)."""
    form = re.search(r'<form method="post"[^>]*class="send-form".*?</form>', html, re.DOTALL)
    assert form is not None, "no send form on the page"
    markup = form.group(0)
    values: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", markup):
        name = re.search(r'name="([^"]*)"', tag)
        if name is None or name.group(1) == "csrfmiddlewaretoken":
            continue
        kind = re.search(r'type="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if kind is not None and kind.group(1) in ("checkbox", "radio"):
            if " checked" in tag:
                values[name.group(1)] = html_module.unescape(value.group(1)) if value else "on"
            continue
        values[name.group(1)] = html_module.unescape(value.group(1)) if value else ""
    for name, text in re.findall(
        r'<textarea name="([^"]*)"[^>]*>(.*?)</textarea>', markup, re.DOTALL
    ):
        values[name] = html_module.unescape(text.removeprefix("\n"))
    for name, options in re.findall(
        r'<select name="([^"]*)"[^>]*>(.*?)</select>', markup, re.DOTALL
    ):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', options)
        values[name] = html_module.unescape(chosen.group(1)) if chosen else ""
    return values
