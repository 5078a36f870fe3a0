"""Search: filters, multi-field sorting and opaque keyset cursors.

A cursor encodes the filters, the sort, the limit and a keyset position (the sort values and id
of the item next to the page boundary, and which side of it to read), signed with an HMAC so a
garbled or altered cursor is told apart from a good one. Because the position is a key, not an
offset, items created between two page requests do not shift the pages.
"""

import base64
import binascii
import functools
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from simulator.lifecycle import DONE, EXECUTING, PENDING, Kind
from simulator.store import DownlinkFilter
from simulator.validation import (
    DEVICE_ID_RULE,
    RequestInvalid,
    duration_seconds,
    is_device_id,
    parse_timestamp_us,
)

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
LORA_STATUSES = (PENDING, EXECUTING, DONE)
FILTER_NAMES = (
    "deviceId",
    "createdBefore",
    "createdSince",
    "modifiedBefore",
    "modifiedSince",
    "status",
)
SEARCH_PARAMETERS = ("cursor", "limit", "sort", *FILTER_NAMES)
_COMMON_SORT_FIELDS = (
    "id",
    "deviceId",
    "status",
    "createdAt",
    "modifiedAt",
    "feedbackTimeout",
    "dryRun",
    "lastFailureReason",
)
SORT_FIELDS: dict[Kind, tuple[str, ...]] = {
    Kind.LORA: (
        *_COMMON_SORT_FIELDS,
        "retryLimit",
        "retryCount",
        "message.payloadHex",
        "message.fPort",
    ),
    Kind.MQTT: (
        *_COMMON_SORT_FIELDS,
        "message.type",
        "message.payload",
        "message.topic",
        "message.contentType",
        "message.qos",
    ),
}
_CURSOR_VERSION = 1
# Comparison operators a keyset position can use against its boundary key.
_FORWARD = (">", ">=")
_BACKWARD = ("<", "<=")

JsonScalar = str | int | float | bool | None


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool = False

    @property
    def token(self) -> str:
        return f"-{self.field}" if self.descending else self.field


DEFAULT_SORT = (SortKey("createdAt"),)


@dataclass(frozen=True)
class Position:
    """Read the items whose key compares to `boundary` by `operator` (>, >=, < or <=)."""

    operator: str
    boundary: tuple[JsonScalar, ...]


@dataclass(frozen=True)
class SearchRequest:
    kind: Kind
    raw_filters: Mapping[str, str]
    where: DownlinkFilter
    sort: tuple[SortKey, ...]
    limit: int
    position: Position | None = None


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next: Position | None
    prev: Position | None


def parse_filters(kind: Kind, raw: Mapping[str, str]) -> DownlinkFilter:
    """The filter the query parameters ask for, or RequestInvalid naming the wrong ones."""
    problems = []
    values: dict[str, Any] = {}
    device_id = raw.get("deviceId")
    if device_id is not None and not is_device_id(device_id):
        problems.append(RequestInvalid.single("deviceId", DEVICE_ID_RULE))
    for name, attribute in (
        ("createdBefore", "created_before_us"),
        ("createdSince", "created_since_us"),
        ("modifiedBefore", "modified_before_us"),
        ("modifiedSince", "modified_since_us"),
    ):
        if name in raw:
            try:
                values[attribute] = parse_timestamp_us(name, raw[name])
            except RequestInvalid as error:
                problems.append(error)
    status = raw.get("status")
    # The LoRa spec makes the status filter an enum; the MQTT spec leaves it open.
    if kind is Kind.LORA and status is not None and status not in LORA_STATUSES:
        problems.append(RequestInvalid.single("status", "must be one of PENDING, EXECUTING, DONE"))
    if problems:
        raise RequestInvalid([param for problem in problems for param in problem.params])
    return DownlinkFilter(device_id=device_id, status=status, **values)


def parse_sort(kind: Kind, text: str | None) -> tuple[SortKey, ...]:
    if text is None or not text.strip():
        return DEFAULT_SORT
    keys: list[SortKey] = []
    for part in text.split(","):
        token = part.strip()
        descending = token.startswith("-")
        field = token[1:] if token.startswith(("-", "+")) else token
        if field not in SORT_FIELDS[kind]:
            raise RequestInvalid.single(
                "sort",
                f"names an unknown field {token!r}: use a comma-separated list of "
                f"{', '.join(SORT_FIELDS[kind])}, each optionally prefixed with - "
                "for descending order",
            )
        if any(key.field == field for key in keys):
            raise RequestInvalid.single("sort", f"names the field {field!r} more than once")
        keys.append(SortKey(field, descending))
    return tuple(keys)


def parse_limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_LIMIT
    stripped = text.strip()
    if not stripped.isascii() or not stripped.lstrip("-").isdigit() or len(stripped) > 12:
        raise RequestInvalid.single("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
    limit = int(stripped)
    if not 1 <= limit <= MAX_LIMIT:
        raise RequestInvalid.single("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
    return limit


def parse_search(kind: Kind, args: Mapping[str, str], cursor_key: bytes) -> SearchRequest:
    """The search the query asks for. With a cursor, the cursor alone decides it."""
    if "cursor" in args:
        return decode_cursor(kind, args["cursor"], cursor_key)
    raw_filters = {name: args[name] for name in FILTER_NAMES if name in args}
    problems: list[RequestInvalid] = []
    where = DownlinkFilter()
    sort: tuple[SortKey, ...] = DEFAULT_SORT
    limit = DEFAULT_LIMIT
    try:
        where = parse_filters(kind, raw_filters)
    except RequestInvalid as error:
        problems.append(error)
    try:
        sort = parse_sort(kind, args.get("sort"))
    except RequestInvalid as error:
        problems.append(error)
    try:
        limit = parse_limit(args.get("limit"))
    except RequestInvalid as error:
        problems.append(error)
    if problems:
        raise RequestInvalid([param for problem in problems for param in problem.params])
    return SearchRequest(kind, raw_filters, where, sort, limit)


# --- Sorting and paging ----------------------------------------------------------------------


def sort_value(item: Mapping[str, Any], field: str) -> JsonScalar:
    """The value an item is sorted by; durations by their length, absent fields as null."""
    value: Any = item
    for part in field.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if field == "feedbackTimeout" and isinstance(value, str):
        seconds = duration_seconds(value)
        return float(seconds) if seconds is not None else None
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return None


def _rank(value: JsonScalar) -> tuple[int, Any]:
    """Numbers (and booleans) before strings; null last in ascending order."""
    if value is None:
        return (2, 0)
    if isinstance(value, str):
        return (1, value)
    return (0, value)


def _compare(
    left: Sequence[JsonScalar], right: Sequence[JsonScalar], sort: Sequence[SortKey]
) -> int:
    """Compare two keys (sort values, then the id as the tie-breaker, ascending)."""
    directions = [key.descending for key in sort] + [False]
    for a, b, descending in zip(left, right, directions, strict=True):
        rank_a, rank_b = _rank(a), _rank(b)
        if rank_a != rank_b:
            result = -1 if rank_a < rank_b else 1
            return -result if descending else result
    return 0


def key_of(item: Mapping[str, Any], sort: Sequence[SortKey]) -> tuple[JsonScalar, ...]:
    return (*(sort_value(item, key.field) for key in sort), item["id"])


_OPERATORS: dict[str, Callable[[int], bool]] = {
    ">": lambda result: result > 0,
    ">=": lambda result: result >= 0,
    "<": lambda result: result < 0,
    "<=": lambda result: result <= 0,
}


def paginate(items: list[dict[str, Any]], request: SearchRequest) -> Page:
    """One page of `items` (any order) for the request's sort, limit and position."""
    sort = request.sort
    keyed = [(key_of(item, sort), item) for item in items]

    def compare(
        left: tuple[tuple[JsonScalar, ...], object], right: tuple[tuple[JsonScalar, ...], object]
    ) -> int:
        return _compare(left[0], right[0], sort)

    keyed.sort(key=functools.cmp_to_key(compare))
    keys = [key for key, _ in keyed]
    total = len(keyed)
    position = request.position
    if position is None:
        start, end = 0, min(request.limit, total)
    else:
        matches = _OPERATORS[position.operator]
        hits = [matches(_compare(key, position.boundary, sort)) for key in keys]
        if position.operator in _FORWARD:
            start = next((index for index, hit in enumerate(hits) if hit), total)
            end = min(start + request.limit, total)
        else:
            end = sum(hits)
            start = max(0, end - request.limit)
    page = [item for _, item in keyed[start:end]]
    next_position = None
    if end < total:
        next_position = Position(">", keys[end - 1]) if page else Position(">=", keys[end])
    prev_position = None
    if start > 0:
        prev_position = Position("<", keys[start]) if page else Position("<=", keys[start - 1])
    return Page(page, next_position, prev_position)


# --- Cursors ---------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest()[:16])


def encode_cursor(request: SearchRequest, position: Position, key: bytes) -> str:
    payload = _b64(
        json.dumps(
            {
                "v": _CURSOR_VERSION,
                "k": request.kind.value,
                "f": dict(request.raw_filters),
                "s": ",".join(sort_key.token for sort_key in request.sort),
                "l": request.limit,
                "o": position.operator,
                "b": list(position.boundary),
            },
            separators=(",", ":"),
        ).encode()
    )
    return f"{payload}.{_mac(key, payload)}"


def _garbled(reason: str) -> RequestInvalid:
    return RequestInvalid.single("cursor", reason)


def decode_cursor(kind: Kind, cursor: str, key: bytes) -> SearchRequest:
    """The search a cursor encodes, or RequestInvalid naming `cursor` if it is garbled."""
    payload, _, mac = cursor.partition(".")
    if not payload or not mac.isascii() or not payload.isascii():
        raise _garbled("is not a cursor this API issued: use a next or prev link as given")
    if not hmac.compare_digest(mac, _mac(key, payload)):
        raise _garbled("is garbled or was altered: use a next or prev link exactly as given")
    try:
        data = json.loads(_unb64(payload))
    except (ValueError, binascii.Error):
        raise _garbled("is garbled: use a next or prev link exactly as given") from None
    if not isinstance(data, dict) or data.get("v") != _CURSOR_VERSION:
        raise _garbled("comes from another version of this API; start the search again")
    if data.get("k") != kind.value:
        raise _garbled(f"belongs to another collection, not /{kind.value}/downlinks")
    try:
        raw_filters = {str(name): str(value) for name, value in data["f"].items()}
        request = SearchRequest(
            kind=kind,
            raw_filters=raw_filters,
            where=parse_filters(kind, raw_filters),
            sort=parse_sort(kind, data["s"]),
            limit=parse_limit(str(data["l"])),
            position=Position(data["o"], tuple(data["b"])),
        )
    except (KeyError, TypeError, AttributeError, RequestInvalid):
        raise _garbled("is garbled: use a next or prev link exactly as given") from None
    if request.position is None or request.position.operator not in _OPERATORS:
        raise _garbled("is garbled: use a next or prev link exactly as given")
    if len(request.position.boundary) != len(request.sort) + 1:
        raise _garbled("is garbled: use a next or prev link exactly as given")
    return request
