"""A downlink's life as a pure function of when it was made, what it carries and the time now.

Every downlink follows PENDING -> EXECUTING -> DONE. How it ends is chosen on purpose by a
*marker* in its payload bytes (the decoded bytes of a LoRa `payloadHex` or an MQTT binary
`payload`, the UTF-8 bytes of an MQTT text `payload`):

=========================================  ====  ====  ==========================================
marker                                     LoRa  MQTT  outcome
=========================================  ====  ====  ==========================================
(none)                                     yes   yes   DONE, no failure reason (success)
``sim:FEEDBACK_TIMEOUT``                   yes   yes   DONE / FEEDBACK_TIMEOUT
``sim:FAILED_TO_TRANSMIT_TO_DEVICE``       yes   yes   DONE / FAILED_TO_TRANSMIT_TO_DEVICE
``sim:NOT_ACKNOWLEDGED_BY_DEVICE``         yes   no    retries `retryLimit` times, one every
                                                       retry interval (each a modification,
                                                       `retryCount` + 1), then
                                                       DONE / NOT_ACKNOWLEDGED_BY_DEVICE
``sim:ACK_AFTER=N``                        yes   no    acknowledged after N retries: DONE with
                                                       `retryCount` N if `retryLimit` >= N, else
                                                       as NOT_ACKNOWLEDGED_BY_DEVICE
``sim:FAILED_TO_ENQUEUE_FOR_TRANSMISSION`` yes   no    DONE / FAILED_TO_ENQUEUE_FOR_TRANSMISSION
``sim:EVICTED``                            yes   no    DONE / EVICTED
``sim:REASON=SOME_VALUE``                  yes   yes   DONE / SOME_VALUE (any [A-Z0-9_]+: an
                                                       unknown reason, to exercise open sets)
``sim:STATUS=SOME_VALUE``                  yes   yes   the executing phase is spent in status
                                                       SOME_VALUE instead of EXECUTING; combines
                                                       with any outcome marker
=========================================  ====  ====  ==========================================

A marker that does not apply to the kind ("no" above) is ignored. When a payload holds several
outcome markers, the first one that applies wins. A dry run (`dryRun: true`) always succeeds
and ignores every marker.

Timeline (P, E, R, C: the pending, executing, retry and cancel intervals of the settings):

- created: PENDING; created + P: EXECUTING (or the STATUS marker's value);
- created + P + E: the first attempt's verdict. Retry i (i = 1..retries) starts at
  created + P + E + (i - 1) * R with retryCount i; the final verdict comes at
  created + P + E + retries * R: DONE with the outcome above.
- A cancellation accepted at time c is processed at c + C: DONE / CANCELLED, unless the natural
  end comes first (at or before c + C), in which case the natural outcome stands.

Each state's `since_ms` is the moment the transition was scheduled; it becomes `modifiedAt`, so
a `modifiedSince` search never misses a transition that was materialized late.
"""

import json
import re
from dataclasses import asdict, dataclass
from enum import StrEnum

PENDING = "PENDING"
EXECUTING = "EXECUTING"
DONE = "DONE"
CANCELLED = "CANCELLED"
NOT_ACKNOWLEDGED = "NOT_ACKNOWLEDGED_BY_DEVICE"


class Kind(StrEnum):
    MQTT = "mqtt"
    LORA = "lora"


# Failure reasons a marker can pick directly, and the kinds they apply to.
_DIRECT_REASONS: dict[str, frozenset[Kind]] = {
    "FEEDBACK_TIMEOUT": frozenset({Kind.MQTT, Kind.LORA}),
    "FAILED_TO_TRANSMIT_TO_DEVICE": frozenset({Kind.MQTT, Kind.LORA}),
    "FAILED_TO_ENQUEUE_FOR_TRANSMISSION": frozenset({Kind.LORA}),
    "EVICTED": frozenset({Kind.LORA}),
}
_MARKER = re.compile(
    rb"sim:(?:(?P<reason>FEEDBACK_TIMEOUT|FAILED_TO_TRANSMIT_TO_DEVICE"
    rb"|FAILED_TO_ENQUEUE_FOR_TRANSMISSION|EVICTED)"
    rb"|(?P<not_ack>NOT_ACKNOWLEDGED_BY_DEVICE)"
    rb"|ACK_AFTER=(?P<ack_after>[0-9]{1,9})"
    rb"|REASON=(?P<any_reason>[A-Z0-9_]+)"
    rb"|STATUS=(?P<status>[A-Z0-9_]+))"
)


@dataclass(frozen=True)
class Timings:
    """The intervals of the lifecycle, in milliseconds."""

    pending_ms: int
    executing_ms: int
    retry_ms: int
    cancel_ms: int

    @classmethod
    def from_seconds(
        cls, pending: float, executing: float, retry: float, cancel: float
    ) -> "Timings":
        return cls(
            pending_ms=max(0, round(pending * 1000)),
            executing_ms=max(0, round(executing * 1000)),
            retry_ms=max(0, round(retry * 1000)),
            cancel_ms=max(0, round(cancel * 1000)),
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Timings":
        return cls(**json.loads(text))


@dataclass(frozen=True)
class Scenario:
    """How a downlink will run: its final failure reason (None: success), how many retries
    come before the verdict, and the status shown while it executes."""

    failure_reason: str | None = None
    retries: int = 0
    executing_status: str = EXECUTING

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Scenario":
        return cls(**json.loads(text))


def scenario_for(kind: Kind, payload: bytes, *, dry_run: bool, retry_limit: int) -> Scenario:
    """The scenario the markers in `payload` ask for (see the module docstring)."""
    if dry_run:
        return Scenario()
    outcome: Scenario | None = None
    executing_status = EXECUTING
    status_seen = False
    for match in _MARKER.finditer(payload):
        if match["status"] is not None:
            if not status_seen:
                executing_status = match["status"].decode("ascii")
                status_seen = True
            continue
        if outcome is not None:
            continue
        outcome = _outcome_of(kind, match, retry_limit)
    outcome = outcome or Scenario()
    return Scenario(outcome.failure_reason, outcome.retries, executing_status)


def _outcome_of(kind: Kind, match: re.Match[bytes], retry_limit: int) -> Scenario | None:
    """The outcome one marker asks for, or None when it does not apply to `kind`."""
    if match["reason"] is not None:
        reason = match["reason"].decode("ascii")
        return Scenario(failure_reason=reason) if kind in _DIRECT_REASONS[reason] else None
    if match["any_reason"] is not None:
        return Scenario(failure_reason=match["any_reason"].decode("ascii"))
    if kind is not Kind.LORA:
        return None
    if match["not_ack"] is not None:
        return Scenario(failure_reason=NOT_ACKNOWLEDGED, retries=retry_limit)
    acknowledged_after = int(match["ack_after"])
    if acknowledged_after <= retry_limit:
        return Scenario(retries=acknowledged_after)
    return Scenario(failure_reason=NOT_ACKNOWLEDGED, retries=retry_limit)


@dataclass(frozen=True)
class State:
    """What a downlink looks like at some moment; `since_ms` is when it became so."""

    status: str
    failure_reason: str | None
    retry_count: int
    since_ms: int

    @property
    def is_done(self) -> bool:
        return self.status == DONE


@dataclass(frozen=True)
class Plan:
    """Everything that decides a downlink's state over time."""

    created_ms: int
    scenario: Scenario
    timings: Timings
    cancel_requested_ms: int | None = None

    @property
    def executing_at_ms(self) -> int:
        return self.created_ms + self.timings.pending_ms

    @property
    def first_verdict_ms(self) -> int:
        return self.executing_at_ms + self.timings.executing_ms

    @property
    def natural_end_ms(self) -> int:
        return self.first_verdict_ms + self.scenario.retries * self.timings.retry_ms

    @property
    def cancelled_at_ms(self) -> int | None:
        """When the cancellation takes effect, or None if there is none or the end comes first."""
        if self.cancel_requested_ms is None:
            return None
        effective = self.cancel_requested_ms + self.timings.cancel_ms
        return effective if effective < self.natural_end_ms else None


def _retry_in_progress(plan: Plan, now_ms: int) -> int:
    """How many retries have started by `now_ms` (before the final verdict)."""
    retries = plan.scenario.retries
    if retries == 0 or now_ms < plan.first_verdict_ms or plan.timings.retry_ms == 0:
        return 0
    return min(retries, (now_ms - plan.first_verdict_ms) // plan.timings.retry_ms + 1)


def _retry_started_ms(plan: Plan, retry: int) -> int:
    return plan.first_verdict_ms + (retry - 1) * plan.timings.retry_ms


def state_at(plan: Plan, now_ms: int) -> State:
    """The downlink's state at `now_ms` (a moment before creation reads as just created)."""
    scenario = plan.scenario
    cancelled_at = plan.cancelled_at_ms
    if cancelled_at is not None and now_ms >= cancelled_at:
        return State(DONE, CANCELLED, _retry_in_progress(plan, cancelled_at), cancelled_at)
    end = plan.natural_end_ms
    if now_ms >= end:
        return State(DONE, scenario.failure_reason, scenario.retries, end)
    if now_ms >= plan.executing_at_ms:
        retry = _retry_in_progress(plan, now_ms)
        since = _retry_started_ms(plan, retry) if retry else plan.executing_at_ms
        return State(scenario.executing_status, None, retry, since)
    return State(PENDING, None, 0, plan.created_ms)


def next_change_after(plan: Plan, now_ms: int) -> int | None:
    """The next moment after `now_ms` at which the state changes, or None once it is DONE."""
    cancelled_at = plan.cancelled_at_ms
    end = cancelled_at if cancelled_at is not None else plan.natural_end_ms
    if now_ms >= end:
        return None
    candidates = [plan.executing_at_ms, end]
    retries = plan.scenario.retries
    if retries and plan.timings.retry_ms:
        if now_ms < plan.first_verdict_ms:
            next_retry = 1
        else:
            next_retry = (now_ms - plan.first_verdict_ms) // plan.timings.retry_ms + 2
        if next_retry <= retries:
            candidates.append(_retry_started_ms(plan, next_retry))
    later = [moment for moment in candidates if now_ms < moment <= end]
    return min(later) if later else None
