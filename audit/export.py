"""The audit trail as CSV, streamed row by row so memory stays flat however long it is."""

import csv
import json
from collections.abc import Iterable, Iterator

from audit.models import AuditEntry
from core.visible_text import make_visible

CSV_COLUMNS = (
    "sequence",
    "created_at_utc",
    "person",
    "team",
    "action",
    "phase",
    "outcome",
    "attempt_sequence",
    "target_kind",
    "target_id",
    "device_id",
    "summary",
    "asked",
    "answered",
    "ip_address",
    "user_agent",
    "entry_hash",
)
# Formula injection: a spreadsheet would run a cell that starts with one of these.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class _Line:
    """A file-like object whose write returns the line, for csv.writer."""

    def write(self, value: str) -> str:
        return value


def _safe(value: object) -> str:
    """A cell a spreadsheet shows as text: invisible and bidi characters written out as on the
    pages (`⟨U+202E⟩`: a CSV has no `<bdi>`), and a would-be formula quoted."""
    text = make_visible("" if value is None else str(value))
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


def csv_lines(entries: Iterable[AuditEntry]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(CSV_COLUMNS)
    for entry in entries:
        yield writer.writerow(
            [
                entry.sequence,
                entry.created_at.isoformat(),
                _safe(entry.actor_label),
                _safe(entry.team_label),
                entry.action,
                entry.phase,
                entry.outcome,
                entry.attempt_sequence or "",
                _safe(entry.target_kind),
                _safe(entry.target_id),
                _safe(entry.device_id),
                _safe(entry.summary),
                _safe(json.dumps(entry.asked, sort_keys=True)),
                _safe(json.dumps(entry.answered, sort_keys=True)),
                entry.ip_address or "",
                _safe(entry.user_agent),
                entry.entry_hash,
            ]
        )
