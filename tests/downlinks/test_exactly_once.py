"""One rendered send form, one create: through a real web server (pytest-django's live
server, threaded) and the simulator over HTTP, posted the way a browser posts it: twice in a
row (a double click after the first answer), and twice at the same moment (two threads,
while the first create is still on its way). Creates are counted at the simulator.

And after an unknown outcome, sending the same message again is stopped by the duplicate
guard until the person says "send anyway"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from django.conf import LazySettings, settings
from django.test import Client

from audit.models import Action, AuditEntry, Phase
from downlinks.models import Downlink, SendState
from simulator.server import RunningSimulator
from tests.at_once import at_once
from tests.downlinks.conftest import (
    COLLECTIONS,
    FORMS,
    Dashboard,
    make_dashboard,
    send_form_values,
    text_of,
)
from tests.polling import wait_until
from tests.teams.world import sign_in

SLOW_CREATE_MS = 800  # the first create is still on its way when the second arrives


@dataclass
class Browserish:
    """An httpx client with a signed-in session, posting forms as a browser does."""

    base: str
    http: httpx.Client

    def get(self, path: str) -> httpx.Response:
        return self.http.get(f"{self.base}{path}")

    def post_form(self, path: str, values: dict[str, str]) -> httpx.Response:
        token = self.http.cookies[settings.CSRF_COOKIE_NAME]
        return self.http.post(
            f"{self.base}{path}",
            data={"csrfmiddlewaretoken": token, **values},
            headers={"Referer": f"{self.base}{path}"},
        )


@pytest.fixture
def world(live_server: Any, simulator: RunningSimulator) -> Dashboard:
    return make_dashboard(simulator)


@pytest.fixture
def operator(live_server: Any, world: Dashboard, settings: LazySettings) -> Iterator[Browserish]:
    # A browser sends Secure cookies to http://127.0.0.1 (a secure context); httpx does not.
    settings.CSRF_COOKIE_SECURE = settings.SESSION_COOKIE_SECURE = False
    session = sign_in(Client(), world.operator_user).cookies[settings.SESSION_COOKIE_NAME]
    with httpx.Client(
        cookies={settings.SESSION_COOKIE_NAME: session.value}, timeout=30, follow_redirects=False
    ) as http:
        yield Browserish(live_server.url, http)


def rendered_form(operator: Browserish, world: Dashboard, kind: str, how: str) -> dict[str, str]:
    """The send form as the page renders it, filled in as a person would: a fresh LoRa or
    MQTT form, or a clone of a downlink made elsewhere."""
    path = world.url("send", kind)
    if how == "clone":
        path += f"?clone={world.api_create(kind)['id']}"
    page = operator.get(path)
    assert page.status_code == 200
    values = send_form_values(page.text)
    assert values["submission_key"]
    if how != "clone":
        values.update({k: v for k, v in FORMS[kind]().items() if k != "submission_key"})
    return values


def creates(world: Dashboard, kind: str) -> int:
    return world.calls("POST", COLLECTIONS[kind])


CASES = [("lora", "new"), ("mqtt", "new"), ("lora", "clone"), ("mqtt", "clone")]


@pytest.mark.parametrize(("kind", "how"), CASES)
def test_the_same_form_posted_twice_in_a_row_creates_once(
    operator: Browserish, world: Dashboard, kind: str, how: str
) -> None:
    values = rendered_form(operator, world, kind, how)
    before = creates(world, kind)  # a clone's original was made through the API
    first = operator.post_form(world.url("send", kind), values)
    second = operator.post_form(world.url("send", kind), values)

    assert creates(world, kind) - before == 1
    (record,) = Downlink.objects.filter(team=world.team, kind=kind, origin="sent")
    detail = world.url("detail", kind, record.remote_id)
    assert (first.status_code, first.headers["Location"]) == (302, detail)
    # The second shows the first attempt: its downlink, and that nothing was sent again.
    assert (second.status_code, second.headers["Location"]) == (302, detail)
    shown = text_of(operator.get(detail).text)
    assert "This form was sent already" in shown
    assert "nothing was sent again" in shown
    assert AuditEntry.objects.filter(action=Action.DOWNLINK_SEND, phase=Phase.ATTEMPT).count() == 1


@pytest.mark.parametrize(("kind", "how"), CASES)
def test_the_same_form_posted_twice_at_once_creates_once(
    operator: Browserish, world: Dashboard, kind: str, how: str
) -> None:
    values = rendered_form(operator, world, kind, how)
    before = creates(world, kind)
    world.fault(kind="latency", delayMs=SLOW_CREATE_MS, method="POST", path=COLLECTIONS[kind])

    def post() -> httpx.Response:
        return operator.post_form(world.url("send", kind), values)

    answers = at_once([post, post])

    assert creates(world, kind) - before == 1
    (record,) = Downlink.objects.filter(team=world.team, kind=kind, origin="sent")
    assert record.send_state == SendState.SENT
    assert sorted(answer.status_code for answer in answers) == [302, 302]
    locations = {answer.headers["Location"] for answer in answers}
    detail = world.url("detail", kind, record.remote_id)
    attempt = world.attempt_url(kind, record.pk)
    # One went to the downlink; the other to it too, or (arriving while the first was still
    # sending) to the record of the attempt, which now leads to the downlink.
    assert detail in locations
    assert locations <= {detail, attempt}
    followed = operator.get(attempt)
    assert (followed.status_code, followed.headers.get("Location")) == (302, detail)


def test_a_resend_after_an_unknown_outcome_waits_for_send_anyway(
    operator: Browserish, world: Dashboard, settings: LazySettings
) -> None:
    settings.THINGS_READ_TIMEOUT = 1.0
    world.fault(kind="timeout", delayMs=3000, method="POST", path="/lora/downlinks", times=1)
    values = rendered_form(operator, world, "lora", "new")
    unknown = operator.post_form(world.url("send", "lora"), values)
    (record,) = Downlink.objects.filter(team=world.team)
    assert record.send_state == SendState.UNKNOWN
    # The person lands on the record of the attempt, not on a form ready to send.
    assert unknown.headers["Location"] == world.attempt_url("lora", record.pk)
    page = operator.get(unknown.headers["Location"])
    assert "It is not known whether this downlink was created." in text_of(page.text)
    assert 'class="send-form"' not in page.text
    wait_until(lambda: creates(world, "lora") == 1, timeout=15)  # the held create happened

    # A new rendering of the form, the same message: stopped, and told why.
    again = rendered_form(operator, world, "lora", "new")
    assert again["submission_key"] != values["submission_key"]
    guarded = operator.post_form(world.url("send", "lora"), again)
    assert guarded.status_code == 409
    words = text_of(guarded.text)
    assert "Already on its way to" in words
    assert "outcome unknown" in words
    assert world.attempt_url("lora", record.pk) in guarded.text
    assert creates(world, "lora") == 1

    # Only an explicit "send anyway" sends it, and the audit entry says so.
    anyway = send_form_values(guarded.text) | {"send_anyway": "on"}
    sent = operator.post_form(world.url("send", "lora"), anyway)
    assert sent.status_code == 302
    assert creates(world, "lora") == 2
    attempt = (
        AuditEntry.objects.filter(action=Action.DOWNLINK_SEND, phase=Phase.ATTEMPT)
        .order_by("sequence")
        .last()
    )
    assert attempt is not None
    assert attempt.asked["sendAnyway"]["alreadyOnItsWay"] == [f"record {record.pk}"]
    assert "anyway" in attempt.summary


def test_the_guard_looks_at_the_device_not_its_spelling(
    operator: Browserish, world: Dashboard
) -> None:
    values = rendered_form(operator, world, "lora", "new")
    assert operator.post_form(world.url("send", "lora"), values).status_code == 302
    again = rendered_form(operator, world, "lora", "new")
    device = again["device_id"]  # urn:dev:deveui:…
    again["device_id"] = re.sub(r"^urn:dev:", "", device).upper().replace("DEVEUI", "deveui")
    assert again["device_id"] != device
    guarded = operator.post_form(world.url("send", "lora"), again)
    assert guarded.status_code == 409
    assert creates(world, "lora") == 1
    # Another message to the same device is not held up.
    other = rendered_form(operator, world, "lora", "new") | {"payload": "0a0b0c"}
    assert operator.post_form(world.url("send", "lora"), other).status_code == 302
    assert creates(world, "lora") == 2


def test_a_refused_send_may_be_corrected_and_sent_under_a_new_key(
    operator: Browserish, world: Dashboard
) -> None:
    world.fault(kind="error", status=400, method="POST", path="/lora/downlinks", times=1)
    values = rendered_form(operator, world, "lora", "new")
    refused = operator.post_form(world.url("send", "lora"), values)
    assert refused.status_code == 400
    shown = send_form_values(refused.text)
    assert shown["submission_key"] != values["submission_key"]
    # A double click on the refused form shows the refusal again and sends nothing.
    again = operator.post_form(world.url("send", "lora"), values)
    assert again.status_code == 409
    assert "did not get through" in text_of(again.text)
    assert creates(world, "lora") == 1
    # The form as shown (its new key) is sent once the API accepts it.
    assert operator.post_form(world.url("send", "lora"), shown).status_code == 302
    assert creates(world, "lora") == 2


def test_a_form_without_its_key_sends_nothing(operator: Browserish, world: Dashboard) -> None:
    values = rendered_form(operator, world, "lora", "new")
    del values["submission_key"]
    answer = operator.post_form(world.url("send", "lora"), values)
    assert answer.status_code == 400
    assert "This form has no one-time key" in text_of(answer.text)
    assert creates(world, "lora") == 0


def test_another_teams_attempt_is_not_found(operator: Browserish, world: Dashboard) -> None:
    values = rendered_form(operator, world, "lora", "new")
    operator.post_form(world.url("send", "lora"), values)
    (record,) = Downlink.objects.filter(team=world.team)
    other = make_dashboard(world.simulator, slug="other")
    path = world.attempt_url("lora", record.pk).replace(f"/t/{world.team.slug}/", "/t/other/")
    assert other.operator.get(path).status_code == 404
    assert other.operator.get(world.url("send", "lora") + f"?resend={record.pk}").status_code == 404
