"""What the two OpenAPI specs say about searching downlinks: the top-level fields of a downlink
and the schema of the `status` filter, read from specs/ (the tests' expectations come from here
or from code constants, never from lists written in a test)."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

SPECS = Path(__file__).resolve().parents[2] / "specs"


@functools.cache
def spec(kind: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (SPECS / f"things-{kind}-downlinks.openapi.json").read_text()
    )
    return loaded


def resolved(kind: str, schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with its `$ref` followed (within the kind's spec)."""
    while "$ref" in schema:
        target: Any = spec(kind)
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        schema = target
    return schema


def _search(kind: str) -> dict[str, Any]:
    operation: dict[str, Any] = spec(kind)["paths"][f"/{kind}/downlinks"]["get"]
    return operation


def downlink_fields(kind: str) -> set[str]:
    """The top-level fields of a downlink in a page of search results."""
    answer = _search(kind)["responses"]["200"]["content"]
    page = resolved(kind, next(iter(answer.values()))["schema"])
    # The page is a generic Page (items of any kind) and, with it, its items' schema.
    parts = [resolved(kind, part) for part in page.get("allOf", [page])]
    arrays = [
        part["properties"]["items"] for part in parts if "items" in part.get("properties", {})
    ]
    (items,) = [array["items"] for array in arrays if array["items"]]
    return set(resolved(kind, items)["properties"])


def status_filter(kind: str) -> dict[str, Any]:
    """The schema of the search's `status` query parameter."""
    for parameter in _search(kind)["parameters"]:
        parameter = resolved(kind, parameter)
        if parameter["name"] == "status" and parameter["in"] == "query":
            return resolved(kind, parameter["schema"])
    raise AssertionError(f"the {kind} spec has no status filter")


def known_statuses(kind: str) -> list[str]:
    """The statuses the spec names: the filter's enum, else those its description says the
    status "includes" (an open set)."""
    schema = status_filter(kind)
    if "enum" in schema:
        return list(schema["enum"])
    described = resolved(kind, {"$ref": "#/components/schemas/DownlinkStatus"})["description"]
    return re.findall(r"\b[A-Z][A-Z_]+[A-Z]\b", described.partition("include")[2])
