"""The lifecycle: every outcome of each kind, LoRa retries, cancellation, dry runs."""

import pytest

from simulator.lifecycle import (
    CANCELLED,
    DONE,
    EXECUTING,
    PENDING,
    Kind,
    Plan,
    Scenario,
    State,
    Timings,
    next_change_after,
    scenario_for,
    state_at,
)
from tests.simulator.conftest import (
    CANCEL_SECONDS,
    EXECUTING_SECONDS,
    PENDING_SECONDS,
    RETRY_SECONDS,
    Api,
    hex_of,
    lora_body,
    mqtt_body,
)

TIMINGS = Timings(pending_ms=5000, executing_ms=10000, retry_ms=5000, cancel_ms=2000)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", None),
        (b"plain bytes", None),
        (b"sim:FEEDBACK_TIMEOUT", "FEEDBACK_TIMEOUT"),
        (b"sim:FAILED_TO_TRANSMIT_TO_DEVICE", "FAILED_TO_TRANSMIT_TO_DEVICE"),
        (b"sim:FAILED_TO_ENQUEUE_FOR_TRANSMISSION", "FAILED_TO_ENQUEUE_FOR_TRANSMISSION"),
        (b"sim:EVICTED", "EVICTED"),
        (b"sim:REASON=ANY_NEW_VALUE", "ANY_NEW_VALUE"),
        (b"\x00\x01sim:EVICTED\xff", "EVICTED"),
    ],
)
def test_lora_outcomes(payload: bytes, reason: str | None) -> None:
    assert scenario_for(Kind.LORA, payload, dry_run=False, retry_limit=0) == Scenario(reason)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", None),
        (b"sim:FEEDBACK_TIMEOUT", "FEEDBACK_TIMEOUT"),
        (b"sim:FAILED_TO_TRANSMIT_TO_DEVICE", "FAILED_TO_TRANSMIT_TO_DEVICE"),
        (b"sim:REASON=ANY_NEW_VALUE", "ANY_NEW_VALUE"),
        # LoRa-only reasons are ignored on MQTT.
        (b"sim:FAILED_TO_ENQUEUE_FOR_TRANSMISSION", None),
        (b"sim:EVICTED", None),
        (b"sim:NOT_ACKNOWLEDGED_BY_DEVICE", None),
        (b"sim:ACK_AFTER=2", None),
        (b"sim:EVICTED then sim:FEEDBACK_TIMEOUT", "FEEDBACK_TIMEOUT"),
    ],
)
def test_mqtt_outcomes(payload: bytes, reason: str | None) -> None:
    assert scenario_for(Kind.MQTT, payload, dry_run=False, retry_limit=0) == Scenario(reason)


def test_the_first_applicable_marker_wins() -> None:
    scenario = scenario_for(
        Kind.LORA, b"sim:EVICTED sim:FEEDBACK_TIMEOUT", dry_run=False, retry_limit=0
    )
    assert scenario.failure_reason == "EVICTED"


@pytest.mark.parametrize(
    ("payload", "retry_limit", "expected"),
    [
        (b"sim:NOT_ACKNOWLEDGED_BY_DEVICE", 0, Scenario("NOT_ACKNOWLEDGED_BY_DEVICE", 0)),
        (b"sim:NOT_ACKNOWLEDGED_BY_DEVICE", 3, Scenario("NOT_ACKNOWLEDGED_BY_DEVICE", 3)),
        (b"sim:ACK_AFTER=2", 2, Scenario(None, 2)),
        (b"sim:ACK_AFTER=2", 5, Scenario(None, 2)),
        (b"sim:ACK_AFTER=2", 1, Scenario("NOT_ACKNOWLEDGED_BY_DEVICE", 1)),
        (b"sim:ACK_AFTER=0", 0, Scenario(None, 0)),
    ],
)
def test_lora_acknowledgement_markers(payload: bytes, retry_limit: int, expected: Scenario) -> None:
    assert scenario_for(Kind.LORA, payload, dry_run=False, retry_limit=retry_limit) == expected


def test_status_marker_combines_with_an_outcome() -> None:
    scenario = scenario_for(
        Kind.MQTT, b"sim:STATUS=SOME_NEW_STATUS sim:FEEDBACK_TIMEOUT", dry_run=False, retry_limit=0
    )
    assert scenario == Scenario("FEEDBACK_TIMEOUT", 0, "SOME_NEW_STATUS")


def test_dry_run_ignores_markers() -> None:
    scenario = scenario_for(
        Kind.LORA, b"sim:NOT_ACKNOWLEDGED_BY_DEVICE sim:STATUS=X", dry_run=True, retry_limit=3
    )
    assert scenario == Scenario()


def test_timeline_of_a_success() -> None:
    plan = Plan(1_000_000, Scenario(), TIMINGS)
    assert state_at(plan, 1_000_000) == State(PENDING, None, 0, 1_000_000)
    assert state_at(plan, 1_004_999) == State(PENDING, None, 0, 1_000_000)
    assert state_at(plan, 1_005_000) == State(EXECUTING, None, 0, 1_005_000)
    assert state_at(plan, 1_014_999).status == EXECUTING
    assert state_at(plan, 1_015_000) == State(DONE, None, 0, 1_015_000)
    assert state_at(plan, 9_999_999) == State(DONE, None, 0, 1_015_000)
    assert next_change_after(plan, 1_000_000) == 1_005_000
    assert next_change_after(plan, 1_005_000) == 1_015_000
    assert next_change_after(plan, 1_015_000) is None


def test_timeline_of_retries_until_not_acknowledged() -> None:
    plan = Plan(0, Scenario("NOT_ACKNOWLEDGED_BY_DEVICE", 3), TIMINGS)
    # Executing from 5 s; retry 1 at 15 s, 2 at 20 s, 3 at 25 s; the verdict at 30 s.
    assert state_at(plan, 14_999) == State(EXECUTING, None, 0, 5000)
    assert state_at(plan, 15_000) == State(EXECUTING, None, 1, 15_000)
    assert state_at(plan, 24_999) == State(EXECUTING, None, 2, 20_000)
    assert state_at(plan, 25_000) == State(EXECUTING, None, 3, 25_000)
    assert state_at(plan, 30_000) == State(DONE, "NOT_ACKNOWLEDGED_BY_DEVICE", 3, 30_000)
    assert [next_change_after(plan, t) for t in (0, 5000, 15_000, 20_000, 25_000, 30_000)] == [
        5000,
        15_000,
        20_000,
        25_000,
        30_000,
        None,
    ]


def test_a_huge_retry_limit_is_computed_not_enumerated() -> None:
    plan = Plan(0, Scenario("NOT_ACKNOWLEDGED_BY_DEVICE", 2_147_483_647), TIMINGS)
    assert state_at(plan, 10**12).retry_count == (10**12 - 15_000) // 5000 + 1
    assert next_change_after(plan, 10**12) == 10**12 + 5000


def test_cancel_takes_effect_after_the_cancel_interval() -> None:
    plan = Plan(0, Scenario(), TIMINGS, cancel_requested_ms=1000)
    assert state_at(plan, 2999) == State(PENDING, None, 0, 0)
    assert state_at(plan, 3000) == State(DONE, CANCELLED, 0, 3000)
    assert next_change_after(plan, 0) == 3000


def test_the_natural_end_wins_over_a_later_cancel() -> None:
    plan = Plan(0, Scenario("EVICTED"), TIMINGS, cancel_requested_ms=14_000)
    assert state_at(plan, 16_000) == State(DONE, "EVICTED", 0, 15_000)
    tie = Plan(0, Scenario(), TIMINGS, cancel_requested_ms=13_000)  # both at 15 s
    assert state_at(tie, 15_000) == State(DONE, None, 0, 15_000)


def test_a_cancel_during_retries_keeps_the_retry_count() -> None:
    plan = Plan(0, Scenario("NOT_ACKNOWLEDGED_BY_DEVICE", 5), TIMINGS, cancel_requested_ms=21_000)
    assert state_at(plan, 23_000) == State(DONE, CANCELLED, 2, 23_000)


# --- Over the API, with the clock advanced instead of sleeping -------------------------------


def test_lora_downlink_walks_through_its_states(api: Api) -> None:
    created = api.create("lora", lora_body())
    assert created["status"] == PENDING
    api.clock.advance(PENDING_SECONDS)
    executing = api.read("lora", created["id"])
    assert executing["status"] == EXECUTING
    assert executing["modifiedAt"] == "2025-04-01T00:00:05.000Z"
    api.clock.advance(EXECUTING_SECONDS + 100)
    done = api.read("lora", created["id"])
    assert done["status"] == DONE
    assert "lastFailureReason" not in done
    # modifiedAt is when the transition was due, not when it was noticed.
    assert done["modifiedAt"] == "2025-04-01T00:00:15.000Z"


@pytest.mark.parametrize(
    "reason",
    [
        "FEEDBACK_TIMEOUT",
        "FAILED_TO_TRANSMIT_TO_DEVICE",
        "FAILED_TO_ENQUEUE_FOR_TRANSMISSION",
        "EVICTED",
    ],
)
def test_lora_failures_by_marker(api: Api, reason: str) -> None:
    message = {"payloadHex": hex_of(f"sim:{reason}"), "fPort": 2}
    created = api.create("lora", lora_body(message=message))
    api.clock.advance(PENDING_SECONDS + EXECUTING_SECONDS)
    done = api.read("lora", created["id"])
    assert (done["status"], done["lastFailureReason"]) == (DONE, reason)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ({"type": "text", "payload": "sim:FEEDBACK_TIMEOUT", "topic": "t"}, "FEEDBACK_TIMEOUT"),
        (
            {
                "type": "binary",
                "payload": "c2ltOkZBSUxFRF9UT19UUkFOU01JVF9UT19ERVZJQ0U=",
                "topic": "t",
            },
            "FAILED_TO_TRANSMIT_TO_DEVICE",
        ),
        ({"type": "text", "payload": "sim:REASON=BRAND_NEW", "topic": "t"}, "BRAND_NEW"),
        ({"type": "text", "payload": "sim:EVICTED", "topic": "t"}, None),
    ],
)
def test_mqtt_outcomes_over_the_api(api: Api, message: dict[str, str], reason: str | None) -> None:
    created = api.create("mqtt", mqtt_body(message=message))
    api.clock.advance(PENDING_SECONDS + EXECUTING_SECONDS)
    done = api.read("mqtt", created["id"])
    assert done["status"] == DONE
    assert done.get("lastFailureReason") == reason


def test_unknown_status_during_execution(api: Api) -> None:
    message = {"type": "text", "payload": "sim:STATUS=SOME_NEW_STATUS", "topic": "t"}
    created = api.create("mqtt", mqtt_body(message=message))
    api.clock.advance(PENDING_SECONDS)
    assert api.read("mqtt", created["id"])["status"] == "SOME_NEW_STATUS"
    api.clock.advance(EXECUTING_SECONDS)
    assert api.read("mqtt", created["id"])["status"] == DONE


def test_lora_retries_each_modify_the_downlink(api: Api) -> None:
    message = {"payloadHex": hex_of("sim:NOT_ACKNOWLEDGED_BY_DEVICE"), "fPort": 2}
    created = api.create("lora", lora_body(message=message, retryLimit=2))
    api.clock.advance(PENDING_SECONDS + EXECUTING_SECONDS)
    first = api.read("lora", created["id"])
    assert (first["status"], first["retryCount"]) == (EXECUTING, 1)
    api.clock.advance(RETRY_SECONDS)
    second = api.read("lora", created["id"])
    assert second["retryCount"] == 2
    assert second["modifiedAt"] > first["modifiedAt"]
    api.clock.advance(RETRY_SECONDS)
    done = api.read("lora", created["id"])
    assert (done["status"], done["lastFailureReason"], done["retryCount"]) == (
        DONE,
        "NOT_ACKNOWLEDGED_BY_DEVICE",
        2,
    )


@pytest.mark.parametrize(
    ("retry_limit", "reason", "count"), [(3, None, 2), (1, "NOT_ACKNOWLEDGED_BY_DEVICE", 1)]
)
def test_ack_after_two_retries(api: Api, retry_limit: int, reason: str | None, count: int) -> None:
    message = {"payloadHex": hex_of("sim:ACK_AFTER=2"), "fPort": 2}
    created = api.create("lora", lora_body(message=message, retryLimit=retry_limit))
    api.clock.advance(PENDING_SECONDS + EXECUTING_SECONDS + 10 * RETRY_SECONDS)
    done = api.read("lora", created["id"])
    assert (done["status"], done.get("lastFailureReason"), done["retryCount"]) == (
        DONE,
        reason,
        count,
    )


@pytest.mark.parametrize("kind", ["lora", "mqtt"])
def test_dry_run_always_succeeds(api: Api, kind: str) -> None:
    if kind == "lora":
        body = lora_body(dryRun=True, message={"payloadHex": hex_of("sim:EVICTED"), "fPort": 1})
    else:
        body = mqtt_body(
            dryRun=True, message={"type": "text", "payload": "sim:FEEDBACK_TIMEOUT", "topic": "t"}
        )
    created = api.create(kind, body)
    assert created["dryRun"] is True
    api.clock.advance(PENDING_SECONDS + EXECUTING_SECONDS)
    done = api.read(kind, created["id"])
    assert done["status"] == DONE
    assert "lastFailureReason" not in done


# --- Cancel ------------------------------------------------------------------------------------


def test_cancel_a_pending_downlink(api: Api) -> None:
    created = api.create("lora", lora_body())
    response = api.delete(f"/lora/downlinks/{created['id']}")
    assert response.status_code == 202
    assert response.data == b""
    assert api.read("lora", created["id"])["status"] == PENDING
    api.clock.advance(CANCEL_SECONDS)
    cancelled = api.read("lora", created["id"])
    assert (cancelled["status"], cancelled["lastFailureReason"]) == (DONE, CANCELLED)
    assert cancelled["modifiedAt"] == "2025-04-01T00:00:02.000Z"


def test_a_second_cancel_while_one_is_pending_is_accepted(api: Api) -> None:
    created = api.create("mqtt", mqtt_body())
    assert api.delete(f"/mqtt/downlinks/{created['id']}").status_code == 202
    api.clock.advance(1)
    assert api.delete(f"/mqtt/downlinks/{created['id']}").status_code == 202
    api.clock.advance(CANCEL_SECONDS - 1)
    # The first request's timing stands.
    assert api.read("mqtt", created["id"])["lastFailureReason"] == CANCELLED


def test_cancel_an_executing_downlink_needs_force(api: Api) -> None:
    created = api.create("lora", lora_body())
    api.clock.advance(PENDING_SECONDS)
    refused = api.delete(f"/lora/downlinks/{created['id']}", query_string={"forced": "false"})
    assert refused.status_code == 409
    assert refused.mimetype == "application/problem+json"
    assert "forced=true" in refused.get_json()["detail"]
    assert api.delete(f"/lora/downlinks/{created['id']}?forced=true").status_code == 202
    api.clock.advance(CANCEL_SECONDS)
    assert api.read("lora", created["id"])["lastFailureReason"] == CANCELLED


def test_an_unknown_executing_status_also_needs_force(api: Api) -> None:
    message = {"type": "text", "payload": "sim:STATUS=WARMING_UP", "topic": "t"}
    created = api.create("mqtt", mqtt_body(message=message))
    api.clock.advance(PENDING_SECONDS)
    assert api.delete(f"/mqtt/downlinks/{created['id']}").status_code == 409


@pytest.mark.parametrize("forced", ["false", "true"])
def test_cancel_a_done_downlink_is_a_conflict_even_forced(api: Api, forced: str) -> None:
    created = api.create("lora", lora_body())
    api.clock.advance(PENDING_SECONDS + EXECUTING_SECONDS)
    response = api.delete(f"/lora/downlinks/{created['id']}?forced={forced}")
    assert response.status_code == 409
    assert response.get_json()["status"] == 409


def test_the_natural_end_before_the_cancel_is_processed_stands(api: Api) -> None:
    created = api.create("lora", lora_body())
    api.clock.advance(PENDING_SECONDS + EXECUTING_SECONDS - 1)  # one second before the end
    assert api.delete(f"/lora/downlinks/{created['id']}?forced=true").status_code == 202
    api.clock.advance(CANCEL_SECONDS)
    done = api.read("lora", created["id"])
    assert done["status"] == DONE
    assert "lastFailureReason" not in done


def test_cancel_is_not_delete(api: Api) -> None:
    created = api.create("mqtt", mqtt_body())
    api.delete(f"/mqtt/downlinks/{created['id']}")
    api.clock.advance(CANCEL_SECONDS)
    assert api.get(f"/mqtt/downlinks/{created['id']}").status_code == 200
    assert [item["id"] for item in api.get("/mqtt/downlinks").get_json()["items"]] == [
        created["id"]
    ]


def test_cancel_an_unknown_downlink_is_a_404(api: Api) -> None:
    response = api.delete("/lora/downlinks/478a82d4-128f-47a6-aa61-2eac3f2a23ad")
    assert response.status_code == 404


@pytest.mark.parametrize("query", ["forced=yes", "forced=true&forced=false"])
def test_forced_must_be_one_boolean(api: Api, query: str) -> None:
    created = api.create("lora", lora_body())
    response = api.delete(f"/lora/downlinks/{created['id']}?{query}")
    assert response.status_code == 400
    assert response.get_json()["invalidParams"][0]["name"] == "forced"
    assert api.read("lora", created["id"])["status"] == PENDING
