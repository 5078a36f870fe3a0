"""Schemathesis against the simulator, in process, for both specs (positive and negative data).

Checks, chosen on purpose:

- kept: not_a_server_error (never a 5xx), response_schema_conformance (every documented answer
  matches its schema), content_type_conformance (documented answers use the documented media
  type), response_headers_conformance, negative_data_rejection (invalid requests get a 4xx:
  our 400s), ignored_auth (a request without or with a bad token is refused).
- left out: status_code_conformance, because the specs document only the success codes (and
  409 on cancel), so it would flag the 400/401/403/404 a faithful server must send;
  positive_data_acceptance, because the specs leave `sort`, `cursor` and `limit` open while a
  faithful server refuses unknown sort fields, garbled cursors and limits out of 1..1000, and
  the prose rules (a feedback timeout of at least 10 minutes, whole bytes of hex, fPort 1..223)
  are not in the schemas; use_after_free, because cancel is not delete: a cancelled downlink
  stays readable, which that check would report as a resource used after its deletion.

Two adjustments are made to the loaded specs (not to the files). The LoRa message gets the
rules its prose and LoRaWAN state (fPort 1..223, whole bytes of hex), so that positive data is
mostly accepted and the 201 answers get validated too; negative data then includes values just
outside those rules, which the simulator must refuse. And one spec quirk is resolved: the MQTT
message is a `oneOf` with a `type` discriminator, but JSON Schema validators ignore
discriminators and both branches accept any `type`, so a text message whose payload happens to
be valid base64 too matches both branches and fails `oneOf`. Pinning `type` per branch (a
`const`, as the discriminator mapping says) makes the branches disjoint, for generation and for
validating responses alike.
"""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
)

from simulator.app import create_app
from simulator.clock import ManualClock
from simulator.config import SimulatorSettings

SPECS = Path(__file__).resolve().parents[2] / "specs"
BASE_URL = "http://localhost"
MAX_EXAMPLES = 50

APP = create_app(SimulatorSettings(database=":memory:"), clock=ManualClock())
# The clock stands still during the run, so this token stays valid throughout.
HEADERS = {"Authorization": f"Bearer {APP.issue_token('contract')}"}
TestFunction = Callable[[Any], None]
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    response_headers_conformance,
    negative_data_rejection,
    ignored_auth,
]


def _pin_mqtt_discriminator(raw: dict[str, Any]) -> dict[str, Any]:
    schemas = raw["components"]["schemas"]
    mapping = schemas.get("MqttMessage", {}).get("discriminator", {}).get("mapping", {})
    for value, reference in mapping.items():
        branch = schemas[reference.rsplit("/", 1)[-1]]
        branch["properties"]["type"] = {"type": "string", "const": value}
    return raw


def _add_lora_prose_rules(raw: dict[str, Any]) -> dict[str, Any]:
    message = raw["components"]["schemas"].get("PayloadHexMessage")
    if message is not None:
        message["properties"]["fPort"].update(minimum=1, maximum=223)
        message["properties"]["payloadHex"]["pattern"] = "^(?:[0-9a-fA-F]{2})+$"
    return raw


def _load(name: str) -> Any:
    raw = json.loads((SPECS / name).read_text())
    raw = _add_lora_prose_rules(_pin_mqtt_discriminator(raw))
    schema = schemathesis.openapi.from_dict(raw)
    schema.app = APP
    # The specs name https://api.kpnthings.com; requests go to the app in process instead.
    schema.config.update(base_url=BASE_URL)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=MAX_EXAMPLES,
        # We send a real token; generated Authorization headers would only test garbage tokens.
        with_security_parameters=False,
    )
    return schema


def _parametrize(schema: Any) -> Callable[[TestFunction], TestFunction]:
    """schema.parametrize(), typed for mypy."""
    decorator: Callable[[TestFunction], TestFunction] = schema.parametrize()
    return decorator


mqtt_schema = _load("things-mqtt-downlinks.openapi.json")
lora_schema = _load("things-lora-downlinks.openapi.json")


@_parametrize(mqtt_schema)
def test_mqtt_api_conforms(case: Any) -> None:
    case.call_and_validate(headers=HEADERS, checks=CHECKS)


@_parametrize(lora_schema)
def test_lora_api_conforms(case: Any) -> None:
    case.call_and_validate(headers=HEADERS, checks=CHECKS)
