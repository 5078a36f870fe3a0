"""Reads for the dashboard: downlinks from the Things API (the truth), joined with what the
portal knows of them (who sent them from here, the status changes it saw, the audit trail).

Every read goes through the team's own credential, so a downlink of another team is simply
not found (404), whatever id is guessed.
"""

from __future__ import annotations

import base64
import contextvars
import hashlib
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import parse_qs, urlencode, urlsplit
from uuid import UUID

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from audit.models import AuditEntry
from devices.models import Kind
from downlinks.models import (
    Downlink,
    Origin,
    StatusEvent,
    SyncState,
    outcome_unknown_condition,
)
from teams.connections import team_client
from teams.models import Team
from things_api import (
    DONE,
    DownlinkResource,
    LoraDownlink,
    MqttDownlink,
    Page,
    SearchFilters,
    SortField,
    ThingsClient,
    ThingsNotFound,
    current_budget,
    equivalent_device_ids,
    same_device_key,
)

type AnyDownlink = LoraDownlink | MqttDownlink


def resource_for(client: ThingsClient, kind: str) -> DownlinkResource:  # type: ignore[type-arg]
    return client.lora if kind == Kind.LORA else client.mqtt


def cursor_of(link: str | None) -> str | None:
    """The opaque cursor inside a next/prev link, which our own URL carries instead."""
    if not link:
        return None
    values = parse_qs(urlsplit(link).query).get("cursor")
    return values[0] if values else None


@dataclass(frozen=True)
class DownlinkRow:
    downlink: AnyDownlink
    record: Downlink | None

    @property
    def cancel_pending(self) -> bool:
        """A cancellation may yet take effect (accepted, or of unknown outcome): Cancel is not
        offered again until it either takes effect or is seen not to have."""
        return bool(
            self.record is not None and self.record.cancel_is_pending and self.downlink.is_running
        )


@dataclass(frozen=True)
class DownlinkListPage:
    rows: list[DownlinkRow]
    next_cursor: str | None
    prev_cursor: str | None
    unresolved_sends: list[Downlink] = field(default_factory=list)
    # Set by a merged or scanned search (see `MergedSearch`): how many downlinks this page read
    # in the list's order, whether it stopped reading before it had a full page (the bound on
    # calls, or the page's deadline: `next_cursor` then continues from there), and whether it
    # continues an earlier page (which it cannot go back from: it links to the first page).
    looked_through: int = 0
    stopped_early: bool = False
    continued: bool = False
    finished_only: bool = False  # an outcome filter: only DONE downlinks were read
    more_unlinkable: bool = False  # there are more, but the page token would be too long

    @property
    def any_running(self) -> bool:
        return any(row.downlink.is_running for row in self.rows)

    @property
    def devices_query(self) -> str:
        """The page's devices (each once) as `device=` parameters: "send to these" opens a
        campaign to them."""
        seen: dict[str, str] = {}
        for row in self.rows:
            seen.setdefault(same_device_key(row.downlink.device_id), row.downlink.device_id)
        return urlencode([("device", device_id) for device_id in seen.values()])

    @property
    def device_count(self) -> int:
        return len({same_device_key(row.downlink.device_id) for row in self.rows})


# What the list's outcome filter takes besides a failure reason (`DownlinkFilterForm`).
SUCCEEDED: Final = "succeeded"
FAILED: Final = "failed"


def outcome_test(outcome: str) -> Callable[[AnyDownlink], bool]:
    """Whether a downlink has `outcome`: SUCCEEDED (DONE without a failure reason), FAILED
    (DONE with one) or that failure reason."""
    if outcome == SUCCEEDED:
        return lambda downlink: downlink.succeeded
    if outcome == FAILED:
        return lambda downlink: downlink.failed
    return lambda downlink: downlink.is_done and downlink.last_failure_reason == outcome


def downlink_page(
    *, team: Team, kind: str, filters: SearchFilters, outcome: str = ""
) -> DownlinkListPage:
    """One page of the team's downlinks of `kind`; raises ThingsError when the API fails, and
    StaleListLink for a page token that does not fit the filters.

    A device id is searched in every spelling the API may hold it under, and an outcome is
    filtered here (see `MergedSearch`); `filters.cursor` is then the portal's own page token.
    Otherwise this is one search, and its cursor the API's.
    """
    resource = resource_for(team_client(team), kind)
    spellings: tuple[str | None, ...] = (None,)
    if filters.device_id:
        # The API matches deviceId exactly: one search per spelling it may hold the device as.
        spellings = equivalent_device_ids(filters.device_id)
    extra: dict[str, Any] = {}
    if len(spellings) == 1 and not outcome:
        page = resource.search(filters)
        items = page.items
        next_cursor, prev_cursor = cursor_of(page.next), cursor_of(page.prev)
    else:
        merged = MergedSearch(resource, filters, spellings, outcome).read()
        items, next_cursor, prev_cursor = merged.items, merged.next_token, None
        extra = {
            "looked_through": merged.looked_through,
            "stopped_early": merged.stopped_early,
            "continued": bool(filters.cursor),
            "finished_only": bool(outcome),
            "more_unlinkable": merged.more_unlinkable,
        }
    records, unresolved = _records_of_page(team, kind, [item.id for item in items])
    return DownlinkListPage(
        rows=[DownlinkRow(item, records.get(item.id)) for item in items],
        next_cursor=next_cursor,
        prev_cursor=prev_cursor,
        unresolved_sends=unresolved,
        **extra,
    )


# The list names at most this many sends of unknown outcome (newest first).
UNRESOLVED_SHOWN: Final = 5


def _records_of_page(
    team: Team, kind: str, ids: list[UUID]
) -> tuple[dict[UUID, Downlink], list[Downlink]]:
    """The portal's records of the page's downlinks, and its newest sends of unknown outcome,
    in one query (there are few of the latter: each is resolved within
    RECONCILE_DEADLINE_SECONDS). The request body is not read: rows never show it."""
    found = (
        Downlink.objects.filter(
            Q(remote_id__in=ids) | outcome_unknown_condition(), team=team, kind=kind
        )
        .defer("request_body")
        .order_by("-created_at")
    )
    records: dict[UUID, Downlink] = {}
    unresolved: list[Downlink] = []
    page_ids = set(ids)
    for record in found:
        if record.remote_id in page_ids:
            records[record.remote_id] = record
        if record.outcome_is_unknown and len(unresolved) < UNRESOLVED_SHOWN:
            unresolved.append(record)
    return records, unresolved


def downlink_lookup(*, team: Team, kind: str, downlink_id: UUID) -> AnyDownlink | None:
    """The team's downlink of `kind` with this id, or None (another team's id included)."""
    try:
        return downlink_fetch(team=team, kind=kind, downlink_id=downlink_id)
    except ThingsNotFound:
        return None


# --- Merged and scanned searches ------------------------------------------------------------

# The searches of a merged list page's first round run at the same time, this many at once.
PARALLEL_SEARCHES: Final = 8
# A further page is not asked for with less than this left of the page's deadline: the list
# shows what it found and continues on request, rather than ending in a timeout banner.
FURTHER_PAGE_RESERVE_SECONDS: Final = 1.0
# The longest page token the list puts in a link (the URL must stay well inside what web
# servers accept in a request line: gunicorn's default is 4094 bytes).
PAGE_TOKEN_MAX_CHARS: Final = 3000
_PAGE_MARK: Final = "p1."


class StaleListLink(Exception):
    """A page token that does not fit the list's filters: an old or edited link."""


@dataclass
class _Stream:
    """One search of a merged page: its spelling, the API page it is in (cursor None: the
    first), how many of that page's items are read and the id of the last one read, the items
    not read yet, and the next page's cursor."""

    spelling: int
    cursor: str | None
    skip: int
    last: str | None = None
    items: list[AnyDownlink] = field(default_factory=list)
    next: str | None = None

    def load(self, page: Page[Any], cursor: str | None, skip: int, last: str | None) -> None:
        """Read on after the last item read, or (if it is no longer on the page) after `skip`
        items. A first page has no cursor to hold it in place: a downlink made since the
        last page shifts it, but not the items after the last one read."""
        ids = [str(item.id) for item in page.items]
        if last is not None and last in ids:
            skip = ids.index(last) + 1
        self.cursor, self.skip, self.last = cursor, skip, last
        self.items, self.next = list(page.items[skip:]), cursor_of(page.next)

    def take(self) -> AnyDownlink:
        item = self.items.pop(0)
        self.skip += 1
        self.last = str(item.id)
        return item

    @property
    def state(self) -> list[Any] | None:
        """Where to continue: [spelling, cursor, skip, last]; None once it has nothing more."""
        if self.items:
            return [self.spelling, self.cursor, self.skip, self.last]
        if self.next:
            return [self.spelling, self.next, 0, None]
        return None


@dataclass(frozen=True)
class MergedPage:
    items: list[AnyDownlink]
    next_token: str | None
    looked_through: int
    stopped_early: bool
    more_unlinkable: bool


class MergedSearch:
    """One list page read from several searches, or filtered by outcome, in the list's order.

    The API matches `deviceId` exactly, so a device id is one search per spelling (see
    `things_api.equivalent_device_ids`), merged here; and it cannot filter on an outcome, so
    that asks for DONE and filters the pages here. Both are one k-way merge by the list's sort
    (ties by id), dropping repeats by downlink id.

    Paging: each search goes on from where this page stopped reading it, which an API cursor
    alone cannot say (a page may take 3 of one search's 50), so the portal's own page token
    holds, per search that has more, the API cursor of the page it is in, how many of that
    page's items are read and the id of the last one. The next page asks for that page again
    and reads on after that id: nothing is lost or shown twice, as far as the API's own cursors
    guarantee that (a downlink made meanwhile does not shift the pages, even a first page,
    which has no cursor); searches with nothing more drop out, so later pages usually ask one
    or two searches, not every spelling. There is no "previous" (that would
    take every search's position backwards too): the list links to its first page instead, and
    the browser's Back button goes back.

    Calls per page: one per search still in the token (at once, at most PARALLEL_SEARCHES at
    a time), then for a further page of any search whose page ran out: at most one each
    without an outcome (enough for a full page), at most THINGS_OUTCOME_SCAN_PAGES - 1 in all
    with one. When that bound or the page's deadline stops it before the page is full, it says
    so (`stopped_early`) and the token continues from there.
    """

    def __init__(
        self,
        resource: DownlinkResource,  # type: ignore[type-arg]
        filters: SearchFilters,
        spellings: Sequence[str | None],
        outcome: str,
    ) -> None:
        self.resource = resource
        self.spellings = tuple(spellings)
        self.limit = filters.limit or settings.THINGS_PAGE_SIZE
        self.sort = filters.sort or [SortField(field="createdAt")]
        self.matches = outcome_test(outcome) if outcome else None
        self.base = filters.model_copy(
            update={
                "cursor": None,
                "status": DONE if outcome else filters.status,
                # An outcome filter reads pages of at least the usual size, whatever is shown.
                "limit": max(self.limit, settings.THINGS_PAGE_SIZE) if outcome else self.limit,
            }
        )
        self.fingerprint = _fingerprint(self.base, self.spellings, outcome, self.limit)
        self.token = filters.cursor
        further = len(self.spellings) if outcome == "" else settings.THINGS_OUTCOME_SCAN_PAGES - 1
        self.further_calls = max(further, 0)

    def read(self) -> MergedPage:
        streams = self._streams()
        searches = [self._filters(stream, stream.cursor) for stream in streams]
        pages = _search_each(self.resource, searches)
        for stream, page in zip(streams, pages, strict=True):
            stream.load(page, stream.cursor, stream.skip, stream.last)
        shown: list[AnyDownlink] = []
        seen: set[UUID] = set()
        looked_through = 0
        further = self.further_calls
        stopped_early = False
        while len(shown) < self.limit:
            for stream in streams:
                # Nothing is taken while a search with more has no item at hand.
                while not stream.items and stream.next:
                    if further <= 0 or _low_on_time():
                        stopped_early = True
                        break
                    further -= 1
                    cursor = stream.next
                    page = self.resource.search(self._filters(stream, cursor))
                    stream.load(page, cursor, 0, None)
                    # (A page that comes back empty but with a next link is read on.)
                if stopped_early:
                    break
            if stopped_early:
                break
            live = [stream for stream in streams if stream.items]
            if not live:
                break
            first = min(live, key=lambda stream: _SortKey(stream.items[0], self.sort))
            item = first.take()
            looked_through += 1
            if item.id in seen:
                continue
            seen.add(item.id)
            if self.matches is None or self.matches(item):
                shown.append(item)
        for stream in streams:  # a repeat of a shown downlink is not shown on the next page
            while stream.items and stream.items[0].id in seen:
                stream.take()
        states = [state for stream in streams if (state := stream.state) is not None]
        token = self._encode(states) if states else None
        unlinkable = token is not None and len(token) > PAGE_TOKEN_MAX_CHARS
        return MergedPage(
            items=shown,
            next_token=None if unlinkable else token,
            looked_through=looked_through,
            stopped_early=stopped_early,
            more_unlinkable=unlinkable,
        )

    def _filters(self, stream: _Stream, cursor: str | None) -> SearchFilters:
        return self.base.model_copy(
            update={"device_id": self.spellings[stream.spelling], "cursor": cursor}
        )

    def _streams(self) -> list[_Stream]:
        if not self.token:
            return [_Stream(index, None, 0) for index in range(len(self.spellings))]
        return [_Stream(*state) for state in self._decode(self.token)]

    def _encode(self, states: list[list[Any]]) -> str:
        payload = json.dumps({"f": self.fingerprint, "s": states}, separators=(",", ":"))
        return _PAGE_MARK + base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")

    def _decode(self, token: str) -> list[tuple[int, str | None, int, str | None]]:
        try:
            if not token.startswith(_PAGE_MARK):
                raise ValueError("not a page token of the portal")
            text = token.removeprefix(_PAGE_MARK)
            data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            if data["f"] != self.fingerprint:
                raise ValueError("a page token of other filters")
            states = [_state(value, len(self.spellings)) for value in data["s"]]
        except (ValueError, TypeError, KeyError, IndexError):
            raise StaleListLink() from None
        if not states or len({state[0] for state in states}) != len(states):
            raise StaleListLink()
        return states


def _state(value: Any, spellings: int) -> tuple[int, str | None, int, str | None]:
    spelling, cursor, skip, last = value
    if type(spelling) is not int or not 0 <= spelling < spellings:
        raise ValueError("no such spelling")
    if cursor is not None and not isinstance(cursor, str):
        raise ValueError("not a cursor")
    if type(skip) is not int or not 0 <= skip <= 10_000:
        raise ValueError("not a count")
    if last is not None and not isinstance(last, str):
        raise ValueError("not an id")
    return spelling, cursor, skip, last


def _fingerprint(
    base: SearchFilters, spellings: tuple[str | None, ...], outcome: str, limit: int
) -> str:
    """What a page token belongs to: the search (less its cursor), the spellings, the outcome
    and the page size; a token of other filters is refused, not misread."""
    described = json.dumps(
        [base.to_query(), spellings, outcome, limit], separators=(",", ":"), sort_keys=True
    )
    return hashlib.sha256(described.encode()).hexdigest()[:16]


def _search_each(
    resource: DownlinkResource,  # type: ignore[type-arg]
    searches: list[SearchFilters],
) -> list[Page[Any]]:
    """One API call per search, at the same time: each in its own thread, in a copy of this
    request's context (so inside its time budget, and counted in its Server-Timing)."""
    if len(searches) == 1:
        return [resource.search(searches[0])]
    with ThreadPoolExecutor(max_workers=min(len(searches), PARALLEL_SEARCHES)) as pool:
        futures = [
            pool.submit(contextvars.copy_context().run, resource.search, search)
            for search in searches
        ]
        return [future.result() for future in futures]


def _low_on_time() -> bool:
    budget = current_budget()
    return budget is not None and budget.remaining() < FURTHER_PAGE_RESERVE_SECONDS


class _SortKey:
    """A downlink's place in a list sorted by `sort` (ties by id), as the API orders it:
    numbers before text, absent values last (first when descending)."""

    __slots__ = ("downlink", "sort")

    def __init__(self, downlink: AnyDownlink, sort: Sequence[SortField]) -> None:
        self.downlink, self.sort = downlink, sort

    def __lt__(self, other: _SortKey) -> bool:
        for key in self.sort:
            mine, theirs = _rank(self.downlink, key.field), _rank(other.downlink, key.field)
            if mine != theirs:
                return (mine > theirs) if key.descending else (mine < theirs)
        return str(self.downlink.id) < str(other.downlink.id)


def _rank(downlink: AnyDownlink, name: str) -> tuple[int, Any]:
    if name == "createdAt":
        return (0, downlink.created_at)
    if name == "modifiedAt":
        return (0, downlink.modified_at)
    value: Any = downlink.raw
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool | int | float):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    return (3, 0)


@dataclass(frozen=True)
class DownlinkDetail:
    """A downlink's page: the API's downlink, or None when the API could not be read (the page
    then shows what the portal holds itself: its record, the changes it saw, the audit)."""

    downlink: AnyDownlink | None
    record: Downlink | None
    events: list[StatusEvent]
    audit_entries: list[AuditEntry]

    @property
    def cancel_pending(self) -> bool:
        if self.downlink is None:
            return False
        return DownlinkRow(self.downlink, self.record).cancel_pending


def downlink_fetch(*, team: Team, kind: str, downlink_id: UUID) -> AnyDownlink:
    """The downlink as the API has it now; ThingsNotFound for another team's id."""
    downlink: AnyDownlink = resource_for(team_client(team), kind).get(downlink_id)
    return downlink


def downlink_record(*, team: Team, kind: str, downlink_id: UUID) -> Downlink | None:
    """The portal's record of a downlink; None if it was neither sent nor cancelled here."""
    return (
        Downlink.objects.filter(team=team, kind=kind, remote_id=downlink_id)
        .select_related("sent_by", "template_version__template", "codec_version")
        .first()
    )


def send_attempt(*, team: Team, kind: str, record_id: int) -> SendAttempt | None:
    """One create the portal attempted, with its audit entries; None if not this team's."""
    record = (
        Downlink.objects.filter(team=team, kind=kind, pk=record_id, origin=Origin.SENT_HERE)
        .select_related("sent_by")
        .first()
    )
    if record is None:
        return None
    entries: list[AuditEntry] = []
    if record.send_attempt_sequence is not None:
        entries = list(
            AuditEntry.objects.filter(team_id=team.pk)
            .filter(
                Q(sequence=record.send_attempt_sequence)
                | Q(attempt_sequence=record.send_attempt_sequence)
            )
            .order_by("sequence")
        )
    return SendAttempt(record=record, audit_entries=entries)


@dataclass(frozen=True)
class SendAttempt:
    record: Downlink
    audit_entries: list[AuditEntry]

    @property
    def reconcile_deadline(self) -> datetime:
        return self.record.created_at + timedelta(seconds=settings.RECONCILE_DEADLINE_SECONDS)


def downlink_history(
    *,
    team: Team,
    downlink_id: UUID,
    downlink: AnyDownlink | None,
    record: Downlink | None,
) -> DownlinkDetail:
    """`record` is `downlink_record()`'s, read once by the detail page (which may have just
    recorded an observation on it); `downlink` is None when the API could not be read."""
    events = list(record.events.all()) if record is not None else []
    target_ids = [str(downlink_id)]
    entries = AuditEntry.objects.filter(team_id=team.pk, target_id__in=target_ids)
    if record is not None and record.send_attempt_sequence is not None:
        entries = entries | AuditEntry.objects.filter(
            team_id=team.pk, sequence=record.send_attempt_sequence
        )
    return DownlinkDetail(
        downlink=downlink,
        record=record,
        events=events,
        audit_entries=list(entries.order_by("sequence")),
    )


@dataclass(frozen=True)
class SyncOverview:
    kind: str
    state: SyncState | None
    following: int
    unknown_outcomes: int

    @property
    def lag_seconds(self) -> float | None:
        if self.state is None or self.state.last_success_at is None:
            return None
        return (timezone.now() - self.state.last_success_at).total_seconds()


def sync_overview(*, team: Team) -> list[SyncOverview]:
    states = {state.kind: state for state in SyncState.objects.filter(team=team)}
    overview = []
    for kind in (Kind.LORA, Kind.MQTT):
        records = Downlink.objects.filter(team=team, kind=kind)
        overview.append(
            SyncOverview(
                kind=kind,
                state=states.get(kind),
                following=records.followed().count(),
                unknown_outcomes=records.outcome_unknown().count(),
            )
        )
    return overview


def credential_problem(*, team: Team) -> SyncState | None:
    """The poller's latest refusal of the team's credential, if that is the current state."""
    return SyncState.objects.filter(team=team, credential_rejected=True).first()
