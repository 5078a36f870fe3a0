"""The simulator's settings, as a plain dataclass so the WSGI app never needs Django."""

from dataclasses import dataclass, field

DEFAULT_AUDIENCE = "things-simulator"


@dataclass(frozen=True)
class SimulatorSettings:
    """Everything the simulator needs to run; the defaults suit in-process tests."""

    database: str = ":memory:"
    pending_seconds: float = 5.0
    executing_seconds: float = 10.0
    retry_seconds: float = 5.0
    cancel_seconds: float = 2.0
    clock_offset_seconds: float = 0.0
    latency_ms: float = 0.0
    host: str = "127.0.0.1"
    port: int = 8001
    # Empty: a key is generated once and kept in the store, so restarts keep tokens valid.
    signing_key: str = field(default="", repr=False)
    # The only audience the token endpoint issues for and the API accepts.
    audience: str = DEFAULT_AUDIENCE
    # Set: every control API (/_sim/) request needs `Authorization: Bearer <this>`. Empty:
    # the control API is open, as `make run` and the tests want it (on the loopback only).
    control_token: str = field(default="", repr=False)


def settings_from_django() -> SimulatorSettings:
    """Read the SIMULATOR_* Django settings (imported here, so only the commands need Django)."""
    from django.conf import settings

    return SimulatorSettings(
        database=str(settings.SIMULATOR_DATABASE),
        pending_seconds=float(settings.SIMULATOR_PENDING_SECONDS),
        executing_seconds=float(settings.SIMULATOR_EXECUTING_SECONDS),
        retry_seconds=float(settings.SIMULATOR_RETRY_SECONDS),
        cancel_seconds=float(settings.SIMULATOR_CANCEL_SECONDS),
        clock_offset_seconds=float(settings.SIMULATOR_CLOCK_OFFSET_SECONDS),
        latency_ms=float(settings.SIMULATOR_LATENCY_MS),
        host=str(settings.SIMULATOR_HOST),
        port=int(settings.SIMULATOR_PORT),
        signing_key=str(getattr(settings, "SIMULATOR_SIGNING_KEY", "")),
        audience=str(getattr(settings, "THINGS_AUDIENCE", DEFAULT_AUDIENCE)),
        control_token=str(getattr(settings, "SIMULATOR_CONTROL_TOKEN", "")).strip(),
    )
