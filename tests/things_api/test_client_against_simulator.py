"""The service layer against the real simulator over HTTP: the behaviour that crosses the
wire (tokens, cursors, cancel rules, faults) checked end to end, not against a mock."""

from collections.abc import Iterator

import httpx
import pytest

from simulator.server import RunningSimulator
from tests.polling import wait_until
from things_api import (
    ClientCredentials,
    NewLoraDownlink,
    NewLoraMessage,
    NewMqttDownlink,
    NewMqttTextMessage,
    RetryPolicy,
    SearchFilters,
    SortField,
    ThingsAuthError,
    ThingsClient,
    ThingsConflict,
    ThingsNotFound,
    ThingsRateLimited,
    ThingsServerError,
    ThingsTimeoutError,
)

SCOPES = ("downlink.read", "downlink.write", "downlink.delete")
LORA_DEVICE = "urn:dev:deveui:ea8fa35e2cf3489f"
MQTT_DEVICE = "imei:350266800610993"


class RecordedSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
def client(simulator: RunningSimulator, sleeps: RecordedSleep) -> Iterator[ThingsClient]:
    simulator.store.register_client("acme", "acme-portal", "s3cret-acme-portal", SCOPES)
    auth = ClientCredentials(
        token_url=f"{simulator.url}/v2/{{tenant_id}}/oidc/idp/c1/token",
        tenant_id="acme",
        client_id="acme-portal",
        client_secret="s3cret-acme-portal",
        audience="things-simulator",
    )
    with ThingsClient(
        simulator.url,
        auth,
        timeout=httpx.Timeout(2.0),
        retry=RetryPolicy(max_attempts=3),
        sleep=sleeps,
    ) as things:
        yield things


def new_lora(payload: bytes = b"\x01\x02", **overrides: object) -> NewLoraDownlink:
    fields: dict[str, object] = {
        "device_id": LORA_DEVICE,
        "message": NewLoraMessage.from_bytes(payload, f_port=3),
        "feedback_timeout": "PT10M",
    }
    fields.update(overrides)
    return NewLoraDownlink.model_validate(fields)


def test_create_get_and_search_round_trip(client: ThingsClient) -> None:
    created = client.lora.create(new_lora(retry_limit=2))
    assert created.status == "PENDING"
    assert created.retry_limit == 2
    fetched = client.lora.get(created.id)
    assert fetched.id == created.id
    assert fetched.device_id == LORA_DEVICE
    found = client.lora.search(SearchFilters(device_id=LORA_DEVICE, status="PENDING"))
    assert [item.id for item in found.items] == [created.id]
    mqtt = client.mqtt.create(
        NewMqttDownlink(
            device_id=MQTT_DEVICE,
            message=NewMqttTextMessage(type="text", payload="reboot", topic="cmd"),
            feedback_timeout="PT1H",
        )
    )
    assert client.mqtt.get(mqtt.id).message.payload == "reboot"
    with pytest.raises(ThingsNotFound):
        client.lora.get(mqtt.id)  # an MQTT id is not a LoRa downlink


def test_iter_search_follows_cursors_over_every_page(client: ThingsClient) -> None:
    created = {client.lora.create(new_lora(bytes([n]))).id for n in range(7)}
    filters = SearchFilters(limit=3, sort=[SortField(field="createdAt", descending=True)])
    first = client.lora.search(filters)
    assert len(first.items) == 3
    assert first.next
    assert first.prev is None
    walked = [item.id for item in client.lora.iter_search(filters)]
    assert set(walked) == created
    assert len(walked) == 7
    second = client.lora.search_page(first.next)
    back = client.lora.search_page(second.prev or "")
    assert [item.id for item in back.items] == [item.id for item in first.items]


def test_cancel_pending_is_accepted_and_done_is_refused(
    client: ThingsClient, simulator: RunningSimulator
) -> None:
    downlink = client.lora.create(new_lora())
    client.lora.cancel(downlink.id)
    simulator.clock.advance(60)
    cancelled = client.lora.get(downlink.id)
    assert cancelled.status == "DONE"
    assert cancelled.last_failure_reason == "CANCELLED"
    with pytest.raises(ThingsConflict) as refused:
        client.lora.cancel(downlink.id, forced=True)
    assert refused.value.problem is not None
    assert refused.value.problem.status == 409


def test_the_token_is_fetched_once_and_reused(
    client: ThingsClient, simulator: RunningSimulator
) -> None:
    for _ in range(3):
        client.lora.search(SearchFilters(limit=1))
    assert simulator.app.request_log.count(method="POST", path="/v2/acme/oidc/idp/c1/token") == 1


def test_a_revoked_client_is_an_auth_error_in_words(
    client: ThingsClient, simulator: RunningSimulator
) -> None:
    simulator.store.revoke_client("acme-portal")
    with pytest.raises(ThingsAuthError) as error:
        client.lora.search()
    assert "s3cret" not in str(error.value)


def inject(simulator: RunningSimulator, **rule: object) -> None:
    httpx.post(f"{simulator.url}/_sim/faults", json=rule).raise_for_status()


def test_reads_retry_a_503_and_honour_retry_after(
    client: ThingsClient, simulator: RunningSimulator, sleeps: RecordedSleep
) -> None:
    client.lora.search()  # fetch the token first
    inject(simulator, kind="error", status=503, path="/lora/downlinks", times=1)
    inject(simulator, kind="rate_limit", retryAfter=2, path="/lora/downlinks", times=1)
    client.lora.search()
    assert 2.0 in sleeps.delays
    assert len(sleeps.delays) == 2


def test_reads_give_up_after_the_bounded_attempts(
    client: ThingsClient, simulator: RunningSimulator
) -> None:
    client.lora.search()
    inject(simulator, kind="error", status=500, path="/lora/downlinks")
    with pytest.raises(ThingsServerError):
        client.lora.search()
    inject(simulator, kind="rate_limit", retryAfter=600, path="/mqtt/downlinks")
    with pytest.raises(ThingsRateLimited):
        client.mqtt.search()


def test_a_create_that_times_out_is_not_sent_again(
    client: ThingsClient, simulator: RunningSimulator
) -> None:
    client.lora.search()
    inject(simulator, kind="timeout", method="POST", path="/lora/downlinks", delayMs=4000, times=1)
    with pytest.raises(ThingsTimeoutError) as error:
        client.lora.create(new_lora(b"sim:EVICTED"))
    assert error.value.may_have_reached_server
    # The simulator did create it: exactly the case the dashboard records as "outcome unknown".
    assert len(client.lora.search(SearchFilters(device_id=LORA_DEVICE)).items) == 1
    # The held answer is logged once it is finally written; there was one POST, not two.
    wait_until(lambda: simulator.app.request_log.count(method="POST", path="/lora/downlinks") >= 1)
    assert simulator.app.request_log.count(method="POST", path="/lora/downlinks") == 1
