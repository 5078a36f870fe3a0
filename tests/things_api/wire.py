"""Downlinks as the Things API sends them (JSON, camelCase), for the tests of the client and
of the models. Every field has a value of its own (retryLimit 2, retryCount 0; createdAt and
modifiedAt a month apart), so a field read from the wrong key shows."""

from typing import Any

LORA_ID = "12345678-1234-1234-1234-123456789012"
MQTT_ID = "7f97ccf0-2ae1-4e1f-bd3e-d901f31d801b"


def lora_json(downlink_id: str = LORA_ID, **overrides: Any) -> dict[str, Any]:
    return {
        "id": downlink_id,
        "message": {"payloadHex": "0a0b", "fPort": 3},
        "status": "PENDING",
        "retryLimit": 2,
        "retryCount": 0,
        "deviceId": "imei:350266800610993",
        "createdAt": "2025-04-01T00:00:00.000Z",
        "modifiedAt": "2025-05-01T00:00:00.000Z",
        "feedbackTimeout": "PT25H",
        "dryRun": False,
    } | overrides


def mqtt_json(message: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "id": MQTT_ID,
        "message": message,
        "status": "PENDING",
        "deviceId": MQTT_ID,
        "createdAt": "2025-01-01T11:22:33.456Z",
        "modifiedAt": "2025-01-01T11:22:33.456Z",
        "feedbackTimeout": "PT10M",
        "dryRun": False,
    } | overrides
