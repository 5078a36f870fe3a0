"""The devices a campaign goes to, read from what a person pasted or uploaded, or from the
device catalogue: one target per device, in the order given. Every spelling of one device
(deveui:AB…, urn:dev:deveui:ab…) is the same device: later mentions are merged into the first
and said so. What is not a device id of the campaign's kind stays a target with its problem,
so the preview shows it where it was entered."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from devices.fields import kind_of_device_id
from devices.models import Device, Kind
from teams.models import Team
from things_api import device_id_problem, same_device_key

# The most devices one campaign takes (a preview of this many with a codec takes seconds).
MAX_TARGETS = 10_000
DEVICE_ID_COLUMNS = ("device_id", "deviceid", "device id", "device")


class TargetsError(ValueError):
    """The list as a whole cannot be read; the message says why, in words."""


@dataclass(frozen=True)
class Target:
    position: int  # the line it was on (from 1), or its place in the catalogue's list
    device_id: str
    values: dict[str, str] = field(default_factory=dict)  # a CSV row's own columns
    problem: str = ""


@dataclass
class Targets:
    kind: str
    targets: list[Target] = field(default_factory=list)
    # A device named more than once: its id as first given → the lines it was named on again.
    merged: dict[str, list[int]] = field(default_factory=dict)
    columns: tuple[str, ...] = ()  # a CSV's value columns (not the device id)
    _first: dict[str, str] = field(default_factory=dict)

    def add(self, position: int, text: str, values: dict[str, str] | None = None) -> None:
        device_id = text.strip()
        if not device_id:
            return
        problem = _problem(device_id, self.kind)
        if not problem:
            key = same_device_key(device_id)
            if key in self._first:
                self.merged.setdefault(self._first[key], []).append(position)
                return
            self._first[key] = device_id
        if len(self.targets) >= MAX_TARGETS:
            raise TargetsError(f"At most {MAX_TARGETS:,} devices per campaign.")
        self.targets.append(Target(position, device_id, values or {}, problem))

    @property
    def merged_count(self) -> int:
        return sum(len(lines) for lines in self.merged.values())

    def notes(self) -> dict[str, Any]:
        """What the preview keeps of the reading besides the targets."""
        return {
            "merged": [
                {"deviceId": device_id, "lines": lines} for device_id, lines in self.merged.items()
            ],
            "columns": list(self.columns),
        }


def _problem(device_id: str, kind: str) -> str:
    problem = device_id_problem(device_id)
    if problem:
        return f"“{device_id}” is not a device id. {problem}"
    other = kind_of_device_id(device_id)
    if other is not None and other != kind:
        return (
            f"{device_id} is an {Kind(other).label} device; this campaign sends {Kind(kind).label}."
        )
    return ""


SEPARATORS = re.compile(r"[\s,;]+")


def from_text(text: str, kind: str) -> Targets:
    """Ids one per line, or separated by commas, semicolons or spaces (as copied from a
    spreadsheet column or a ticket); each keeps the line it was on."""
    targets = Targets(kind)
    for line_number, line in enumerate(text.splitlines(), start=1):
        for word in SEPARATORS.split(line):
            targets.add(line_number, word)
    return targets


def from_csv(text: str, kind: str) -> Targets:
    """A CSV with a header row: a device id column (device_id) and, for a template, a column per
    parameter that differs per device (empty cells take the shared value)."""
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise TargetsError("The file is empty.") from None
    except csv.Error as error:
        raise TargetsError(f"The file is not CSV that can be read: {error}.") from None
    lowered = [name.lower() for name in header]
    id_column = next((lowered.index(name) for name in DEVICE_ID_COLUMNS if name in lowered), None)
    if id_column is None:
        raise TargetsError("The first row must name the columns, device_id among them.")
    columns = tuple(name for index, name in enumerate(header) if index != id_column and name)
    targets = Targets(kind, columns=columns)
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            cells = {
                header[index]: cell.strip()
                for index, cell in enumerate(row)
                if index != id_column and index < len(header) and header[index] and cell.strip()
            }
            device_id = row[id_column] if id_column < len(row) else ""
            if not device_id.strip():
                targets.targets.append(
                    Target(reader.line_num, "", cells, "The device_id cell is empty.")
                )
                continue
            targets.add(reader.line_num, device_id, cells)
    except csv.Error as error:
        raise TargetsError(f"Line {reader.line_num} of the file cannot be read: {error}.") from None
    return targets


def from_tag(team: Team, kind: str, tag: str) -> Targets:
    """The team's devices of `kind` with the tag, in the catalogue's order."""
    targets = Targets(kind)
    devices = Device.objects.filter(team=team, kind=kind, tags__name=tag).order_by("key")
    for position, device_id in enumerate(devices.values_list("device_id", flat=True), start=1):
        targets.add(position, device_id)
    return targets
