"""Anchors: the chain head, written down outside the database now and then.

An anchor proves what the chain cannot prove about itself: that nothing up to it was cut
off or rewritten since, even by someone holding the chain key. `verify_audit --anchor` and
`--anchor-file` check them.
"""

import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from audit.chain import GENESIS_HASH, Anchor
from audit.models import ChainHead

logger = logging.getLogger("audit.anchor")


@dataclass(frozen=True)
class TakenAnchor:
    anchor: Anchor
    taken_at: datetime

    def line(self) -> str:
        """`SEQUENCE:HASH TIME`: what the anchor file holds, one per line."""
        return f"{self.anchor} {self.taken_at.isoformat()}"


def anchor_export() -> TakenAnchor:
    """Log the chain head (logger "audit.anchor") and, with AUDIT_ANCHOR_FILE set, append it
    to that file."""
    head = ChainHead.objects.filter(pk=1).first()
    anchor = Anchor(head.sequence, head.last_hash) if head else Anchor(0, GENESIS_HASH)
    taken = TakenAnchor(anchor, timezone.now())
    logger.info("audit chain anchor %s", taken.line())
    path: str = getattr(settings, "AUDIT_ANCHOR_FILE", "")
    if path:
        _append_line(Path(path), taken.line())
    return taken


def _append_line(path: Path, line: str) -> None:
    """Append and flush to disk: an anchor that a crash can lose proves nothing."""
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, f"{line}\n".encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def anchors_in_file(path: Path) -> list[Anchor]:
    """The anchors in a file of `SEQUENCE:HASH` lines (anything after the first word, such as
    the time export_anchor adds, is ignored; so are blank lines and `#` comments)."""
    anchors = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        try:
            anchors.append(Anchor.parse(words[0]))
        except ValueError as error:
            raise ValueError(f"{path}, line {number}: {error}") from None
    return anchors
