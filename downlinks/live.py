"""Pages that refresh themselves while the Things API cannot be read.

A failed refresh keeps what the portal holds on the page and tries again, further apart each
time, up to LIVE_REFRESH_MAX_SECONDS. Since when the live data is missing, and how many tries
in a row failed, travel in the refresh's own URL: no state on the server, and a reload starts
the count again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.http import QueryDict
from django.utils import timezone

SINCE_PARAMETER = "outage_since"
FAILURES_PARAMETER = "outage_failures"
# An outage "since" older than this in a URL is not believed (an old link): it starts now.
LONGEST_OUTAGE = timedelta(days=1)


def _whole_number(text: str | None) -> int | None:
    return int(text) if text is not None and text.isascii() and text.isdigit() else None


@dataclass(frozen=True)
class LiveOutage:
    since: datetime
    failures: int  # refreshes in a row that could not read the API, this one included

    @classmethod
    def continued(cls, query: QueryDict, now: datetime | None = None) -> LiveOutage:
        """This failure, continuing the outage the refresh's URL carries, if any."""
        # Whole seconds, as the URL carries it: every retry says the same start.
        now = (now or timezone.now()).replace(microsecond=0)
        failures = min(_whole_number(query.get(FAILURES_PARAMETER)) or 0, 1_000)
        since = now
        seconds = _whole_number(query.get(SINCE_PARAMETER))
        if seconds is not None and seconds < 10**11:
            carried = datetime.fromtimestamp(seconds, tz=now.tzinfo)
            if now - LONGEST_OUTAGE <= carried <= now:
                since = carried
        return cls(since=since, failures=failures + 1)

    @property
    def retry_seconds(self) -> int:
        """3, 6, 12, … seconds (from LIVE_REFRESH_SECONDS), at most LIVE_REFRESH_MAX_SECONDS."""
        doubled = settings.LIVE_REFRESH_SECONDS * 2 ** min(self.failures - 1, 16)
        return int(min(doubled, settings.LIVE_REFRESH_MAX_SECONDS))

    def refresh_query(self) -> str:
        """The query string of the next refresh, carrying the outage on."""
        return urlencode(
            {SINCE_PARAMETER: int(self.since.timestamp()), FAILURES_PARAMETER: self.failures}
        )
