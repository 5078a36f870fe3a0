"""A device maker's payload codec, run where it can do no harm and cannot hang the portal.

Codecs are JavaScript in the LoRa Alliance payload codec format (TS013, as The Things Stack
and ChirpStack v4 run them): `encodeDownlink(input)` with `input.data`, returning `{bytes,
fPort, warnings, errors}`, and optionally `decodeDownlink(input)` with `input.bytes` and
`input.fPort`, returning `{data, warnings, errors}`.

They run in embedded V8 (mini-racer): no file, network or process access. Each call has a V8
time limit and heap limit (`Limits`). V8 runs in worker processes of their own: the parent
waits at most `Limits.wall_seconds` for an answer and kills the worker otherwise, and a worker
that ran out of memory is killed too (an isolate that hit its heap limit can hang its process,
even on exit). A killed worker is replaced on the next call. Workers are never asked to exit:
they are killed.

Everything a codec gives back is checked here before anyone may send it: bytes are whole
numbers 0-255, the fPort 1-223, warnings and errors are text. What goes wrong is a
`CodecFailed` whose message says what, in words, for the form that asked.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Final

from payload_codecs.worker import QUOTED_CHARS
from things_api import MAX_F_PORT, MIN_F_PORT

ENCODE: Final = "encodeDownlink"
DECODE: Final = "decodeDownlink"


@dataclass(frozen=True)
class Limits:
    """How long and how much one codec call may take (compiling a codec counts as a call)."""

    call_ms: int = 50
    memory_bytes: int = 32 * 1024 * 1024
    # Past this the worker is killed, whatever V8 is doing; it covers starting a worker too.
    wall_seconds: float = 5.0


class CodecFailed(Exception):
    """The codec gave no usable answer; the message says why, in words. Nothing was sent."""


class CodecRefused(CodecFailed):
    """The codec returned errors: it refuses these values (the message quotes it)."""

    def __init__(self, errors: tuple[str, ...]) -> None:
        self.errors = errors
        super().__init__("The codec refused these values: " + "; ".join(errors))


@dataclass(frozen=True)
class Encoded:
    payload: bytes
    f_port: int | None
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class Decoded:
    data: Any  # a JSON value
    warnings: tuple[str, ...]


class _Worker:
    """A worker process, `python -m payload_codecs.worker`, answering over a socket pair: it
    starts from this module alone (never by re-running the parent's main module, as
    multiprocessing's spawn would: a web server's, a test runner's or a script read from stdin)."""

    def __init__(self, limits: Limits) -> None:
        ours, theirs = socket.socketpair()
        with theirs:
            self.process = subprocess.Popen(  # noqa: S603  # our interpreter and module
                [
                    sys.executable,
                    "-m",
                    "payload_codecs.worker",
                    str(theirs.fileno()),
                    str(limits.call_ms),
                    str(limits.memory_bytes),
                ],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                close_fds=True,
                start_new_session=True,  # a terminal's Ctrl-C is for the parent alone
            )
        self.connection = Connection(ours.detach())

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=5)
        self.connection.close()


class CodecSandbox:
    """Up to `workers` codec calls at a time, each in a worker process of its own."""

    def __init__(self, limits: Limits | None = None, *, workers: int = 2) -> None:
        self.limits = limits or Limits()
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(workers)

    def encode(self, source: str, data: Any) -> Encoded:
        """Run the codec's encodeDownlink on `data` (the parameters, a JSON value)."""
        result = self._call(source, ENCODE, {"data": data})
        _refused_if_errors(result)
        return Encoded(_payload(result), _f_port(result), _warnings(result))

    def decode(self, source: str, payload: bytes, f_port: int | None) -> Decoded:
        """Run the codec's decodeDownlink on `payload` (to show what bytes mean)."""
        result = self._call(source, DECODE, {"bytes": list(payload), "fPort": f_port})
        _refused_if_errors(result)
        return Decoded(result.get("data"), _warnings(result))

    def functions(self, source: str) -> frozenset[str]:
        """Which of ENCODE and DECODE the codec defines (loading it within the limits)."""
        result = self._call(source, "__portalFunctions", {})
        return frozenset(str(name) for name in result.get("functions", []))

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()

    @contextmanager
    def _worker(self) -> Iterator[_Worker]:
        """A worker for one exchange, given back afterwards if it is still alive; killed if
        the exchange broke off halfway (an answer might still come and reach the next caller)."""
        if not self._slots.acquire(timeout=self.limits.wall_seconds):
            raise CodecFailed("Every codec runner is busy; try again in a moment.")
        try:
            with self._lock:
                worker = self._idle.pop() if self._idle else None
            if worker is None or not worker.alive:
                worker = _Worker(self.limits)
            try:
                yield worker
            except BaseException:
                worker.kill()
                raise
            if worker.alive:
                with self._lock:
                    self._idle.append(worker)
        finally:
            self._slots.release()

    def _call(self, source: str, function: str, argument: dict[str, Any]) -> dict[str, Any]:
        limits = self.limits
        with self._worker() as worker:
            try:
                worker.connection.send((function, source, argument))
                answered = worker.connection.poll(limits.wall_seconds)
                kind, value = worker.connection.recv() if answered else ("wall", "")
            except (EOFError, OSError):
                kind, value = "died", ""
            if kind in ("wall", "died", "memory"):
                worker.kill()
        if kind != "ok":
            raise CodecFailed(_in_words(kind, value, function, limits))
        result = json.loads(value)
        if isinstance(result, dict) and "__missing" in result:
            raise CodecFailed(f"The codec has no {function} function.")
        if not isinstance(result, dict):
            raise CodecFailed(f"The codec's {function} returned {_kind_of(result)}, not an object.")
        return result


def _in_words(kind: str, value: str, function: str, limits: Limits) -> str:
    doing = "loading" if value == "load" else f"running {function}"
    megabytes = limits.memory_bytes // (1024 * 1024)
    return {
        "timeout": f"The codec took longer than {limits.call_ms} ms {doing} and was stopped.",
        "memory": f"The codec used more than {megabytes} MB of memory {doing} and was stopped.",
        "wall": f"The codec did not answer within {limits.wall_seconds:g} s and was stopped.",
        "died": "The codec's runner stopped unexpectedly; nothing was encoded.",
        "syntax": f"The codec could not be read: {value}",
        "threw": f"The codec failed: {value}",
    }[kind]


def _kind_of(value: Any) -> str:
    if value is None:
        return "nothing"
    named = {list: "a list", str: "text", bool: "true or false"}.get(type(value))
    return named or ("a number" if isinstance(value, int | float) else "something else")


def _text_list(result: dict[str, Any], key: str) -> tuple[str, ...]:
    values = result.get(key) or []
    if not isinstance(values, list):
        values = [values]
    return tuple(str(value)[:QUOTED_CHARS] for value in values)


def _refused_if_errors(result: dict[str, Any]) -> None:
    errors = _text_list(result, "errors")
    if errors:
        raise CodecRefused(errors)


def _warnings(result: dict[str, Any]) -> tuple[str, ...]:
    return _text_list(result, "warnings")


def _payload(result: dict[str, Any]) -> bytes:
    values = result.get("bytes")
    if not isinstance(values, list):
        raise CodecFailed(f"The codec returned {_kind_of(values)} as its bytes, not a list.")
    for position, value in enumerate(values):
        # JSON.stringify writes a whole number without a fraction: it arrives as an int.
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
            raise CodecFailed(
                f"The codec returned {json.dumps(value)} at byte {position + 1}; "
                "a byte is a whole number from 0 to 255."
            )
    return bytes(values)


def _f_port(result: dict[str, Any]) -> int | None:
    f_port = result.get("fPort")
    if f_port is None:
        return None
    if (
        isinstance(f_port, bool)
        or not isinstance(f_port, int)
        or not (MIN_F_PORT <= f_port <= MAX_F_PORT)
    ):
        raise CodecFailed(
            f"The codec returned fPort {json.dumps(f_port)}; an fPort is a whole number from "
            f"{MIN_F_PORT} to {MAX_F_PORT}."
        )
    return f_port
