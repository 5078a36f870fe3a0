"""The merged search against an API that matches deviceId loosely (case-insensitively, unlike
the specs and the simulator): the same downlink found under several spellings is shown once,
also across pages. The API is a transport fake; nothing of ours is mocked."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
import pytest

from downlinks.selectors import MergedSearch
from tests.things_api.wire import lora_json
from things_api import (
    SearchFilters,
    SortField,
    StaticBearerToken,
    ThingsClient,
    equivalent_device_ids,
    same_device_key,
)

DEVICE = "deveui:0004a30b001c0534"
STORED = "urn:dev:DEVEUI:0004A30B001C0534:"


def stored(count: int) -> list[dict[str, Any]]:
    """`count` downlinks of DEVICE, newest first, a minute apart."""
    return [
        lora_json(
            str(UUID(int=index + 1)),
            deviceId=STORED,
            createdAt=f"2025-04-01T10:{59 - index:02d}:00.000Z",
        )
        for index in range(count)
    ]


def loose_api(items: list[dict[str, Any]], calls: list[str]) -> httpx.MockTransport:
    """A search that finds a device under any spelling, newest first, `o<offset>` cursors."""

    def answer(request: httpx.Request) -> httpx.Response:
        query = dict(request.url.params)
        calls.append(query.get("deviceId", ""))
        assert query["sort"] == "-createdAt"
        found = [
            item
            for item in items
            if same_device_key(item["deviceId"]) == same_device_key(query["deviceId"])
        ]
        offset = int(query.get("cursor", "o0")[1:])
        limit = int(query["limit"])
        page: dict[str, Any] = {"items": found[offset : offset + limit]}
        if offset + limit < len(found):
            page["next"] = f"https://api.test/lora/downlinks?cursor=o{offset + limit}"
        return httpx.Response(200, json=page)

    return httpx.MockTransport(answer)


def read(transport: httpx.MockTransport, limit: int, cursor: str | None = None) -> Any:
    client = ThingsClient("https://api.test", StaticBearerToken("t"), transport=transport)
    filters = SearchFilters(
        device_id=DEVICE,
        sort=[SortField(field="createdAt", descending=True)],
        limit=limit,
        cursor=cursor,
    )
    return MergedSearch(client.lora, filters, equivalent_device_ids(DEVICE), "").read()


@pytest.mark.parametrize("limit", [2, 3, 5, 50])
def test_a_downlink_found_under_several_spellings_is_shown_once(limit: int) -> None:
    items = stored(5)
    calls: list[str] = []
    transport = loose_api(items, calls)
    shown: list[str] = []
    page = read(transport, limit)
    assert len(calls) == 14  # every spelling finds all five
    for _ in range(10):
        shown += [str(item.id) for item in page.items]
        if page.next_token is None:
            break
        page = read(transport, limit, page.next_token)
    assert shown == [item["id"] for item in items]
