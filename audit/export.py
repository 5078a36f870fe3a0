"""The audit trail as CSV, streamed row by row so memory stays flat however long it is."""

import csv
import json
from collections.abc import Callable, Iterable, Iterator

from audit.models import AuditEntry
from core.csv_cells import Line as _Line
from core.csv_cells import safe_cell as _safe


def _json(value: object) -> str:
    return _safe(json.dumps(value, sort_keys=True))


# Each column's header and its cell; every text that a person, a device or the API chose
# passes through _safe.
_COLUMNS: tuple[tuple[str, Callable[[AuditEntry], object]], ...] = (
    ("sequence", lambda entry: entry.sequence),
    ("created_at_utc", lambda entry: entry.created_at.isoformat()),
    ("person", lambda entry: _safe(entry.actor_label)),
    ("team", lambda entry: _safe(entry.team_label)),
    ("action", lambda entry: entry.action),
    ("phase", lambda entry: entry.phase),
    ("outcome", lambda entry: entry.outcome),
    ("attempt_sequence", lambda entry: entry.attempt_sequence or ""),
    ("target_kind", lambda entry: _safe(entry.target_kind)),
    ("target_id", lambda entry: _safe(entry.target_id)),
    ("device_id", lambda entry: _safe(entry.device_id)),
    ("summary", lambda entry: _safe(entry.summary)),
    ("asked", lambda entry: _json(entry.asked)),
    ("answered", lambda entry: _json(entry.answered)),
    ("ip_address", lambda entry: entry.ip_address or ""),
    ("user_agent", lambda entry: _safe(entry.user_agent)),
    ("entry_hash", lambda entry: entry.entry_hash),
)
CSV_COLUMNS = tuple(header for header, _ in _COLUMNS)


def csv_lines(entries: Iterable[AuditEntry]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(CSV_COLUMNS)
    for entry in entries:
        yield writer.writerow([cell(entry) for _, cell in _COLUMNS])
