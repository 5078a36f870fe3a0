"""What a health check reports; each app's checks return one (`/healthz` collects them)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
