"""Codecs run in real worker processes with real V8: what a codec may return, what happens when
it throws, loops, allocates without end or does not answer, and that the sandbox goes on
working after each (a worker that hit a limit is killed and replaced)."""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from payload_codecs import worker
from payload_codecs.sandbox import CodecFailed, CodecRefused, CodecSandbox, Limits
from tests.payload_codecs.codecs import INTERVAL_CODEC


def returning(expression: str) -> str:
    """A codec whose encodeDownlink returns `expression` (JavaScript)."""
    return f"function encodeDownlink(input) {{ return {expression}; }}"


def test_a_codec_encodes_parameters_into_bytes_and_an_fport(sandbox: CodecSandbox) -> None:
    encoded = sandbox.encode(INTERVAL_CODEC, {"interval_minutes": 900})
    assert encoded.payload == bytes([0x01, 0x03, 0x84])
    assert encoded.f_port == 2
    assert encoded.warnings == ()


def test_warnings_come_back_with_the_bytes(sandbox: CodecSandbox) -> None:
    encoded = sandbox.encode(INTERVAL_CODEC, {"interval_minutes": 2})
    assert encoded.payload == bytes([0x01, 0x00, 0x02])
    assert encoded.warnings == ("intervals under 5 minutes drain the battery",)


def test_decoding_shows_what_bytes_mean(sandbox: CodecSandbox) -> None:
    decoded = sandbox.decode(INTERVAL_CODEC, bytes([0x01, 0x00, 0x0F]), 2)
    assert decoded.data == {"interval_minutes": 15}


@pytest.mark.parametrize(
    ("source", "defined"),
    [
        (INTERVAL_CODEC, {"encodeDownlink", "decodeDownlink"}),
        (returning("{bytes: [1]}"), {"encodeDownlink"}),
        ("var decodeDownlink = function (input) { return {data: 1}; };", {"decodeDownlink"}),
        ("var encodeDownlink = 3;", set()),
    ],
)
def test_the_functions_a_codec_defines_are_found_without_calling_them(
    sandbox: CodecSandbox, source: str, defined: set[str]
) -> None:
    assert sandbox.functions(source) == defined


def test_errors_the_codec_returns_are_a_refusal_in_its_words(sandbox: CodecSandbox) -> None:
    with pytest.raises(CodecRefused) as refused:
        sandbox.encode(INTERVAL_CODEC, {"interval_minutes": 0})
    assert refused.value.errors == ("interval_minutes must be between 1 and 1440",)
    assert str(refused.value) == (
        "The codec refused these values: interval_minutes must be between 1 and 1440"
    )
    with pytest.raises(CodecRefused, match="unknown command 9"):
        sandbox.decode(INTERVAL_CODEC, bytes([9]), 2)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "function encodeDownlink(input) { throw new Error('no such setting'); }",
            "The codec failed: Error: no such setting",
        ),
        (
            "function encodeDownlink(input) { return input.data.missing.deeper; }",
            "The codec failed: TypeError: Cannot read properties of undefined",
        ),
        ("function encodeDownlink(input) {", "The codec could not be read: SyntaxError"),
        ("var x = 1;", "The codec has no encodeDownlink function."),
        (returning("[1, 2]"), "returned a list, not an object"),
        (returning("undefined"), "returned nothing, not an object"),
        (returning("{fPort: 2}"), "returned nothing as its bytes, not a list"),
        (returning("{bytes: '0103', fPort: 2}"), "returned text as its bytes, not a list"),
        (returning("{bytes: [1, 256]}"), "returned 256 at byte 2; a byte is a whole number"),
        (returning("{bytes: [-1]}"), "returned -1 at byte 1"),
        (returning("{bytes: [1.5]}"), "returned 1.5 at byte 1"),
        (returning("{bytes: ['1']}"), 'returned "1" at byte 1'),
        (returning("{bytes: [true]}"), "returned true at byte 1"),
        (returning("{bytes: [1], fPort: 0}"), "returned fPort 0; an fPort is a whole number"),
        (returning("{bytes: [1], fPort: 224}"), "returned fPort 224"),
        (returning("{bytes: [1], fPort: '2'}"), 'returned fPort "2"'),
        (returning("{bytes: [BigInt(1)]}"), "The codec failed: TypeError"),
    ],
)
def test_a_codec_that_fails_or_returns_what_cannot_be_sent_is_told_in_words(
    sandbox: CodecSandbox, source: str, message: str
) -> None:
    with pytest.raises(CodecFailed) as failed:
        sandbox.encode(source, {})
    assert message in str(failed.value)
    assert not isinstance(failed.value, CodecRefused)


def test_a_codec_has_no_network_files_or_processes(sandbox: CodecSandbox) -> None:
    for reach in ("fetch('http://example.com')", "require('fs')", "process.exit(1)"):
        source = returning(f"(function () {{ {reach}; return {{bytes: [1]}}; }})()")
        with pytest.raises(CodecFailed, match="ReferenceError"):
            sandbox.encode(source, {})


def test_a_codec_that_logs_still_encodes(sandbox: CodecSandbox) -> None:
    source = returning("(console.log('encoding', input), {bytes: [7]})")
    assert sandbox.encode(source, {}).payload == b"\x07"


def test_an_endless_loop_is_stopped_at_the_time_limit_and_the_next_call_works() -> None:
    sandbox = CodecSandbox(Limits(call_ms=50, wall_seconds=20), workers=1)
    try:
        with pytest.raises(CodecFailed) as failed:
            sandbox.encode("function encodeDownlink(input) { while (true) {} }", {})
        assert str(failed.value) == (
            "The codec took longer than 50 ms running encodeDownlink and was stopped."
        )
        with pytest.raises(CodecFailed, match="took longer than 50 ms loading"):
            sandbox.encode("while (true) {}", {})
        assert sandbox.encode(INTERVAL_CODEC, {"interval_minutes": 15}).payload == b"\x01\x00\x0f"
    finally:
        sandbox.close()


def test_a_codec_that_allocates_without_end_is_stopped_and_its_runner_replaced() -> None:
    sandbox = CodecSandbox(Limits(call_ms=5000, memory_bytes=16 * 1024 * 1024), workers=1)
    hog = "function encodeDownlink(input) { var a = []; while (true) a.push(new Array(1e5)); }"
    try:
        with pytest.raises(CodecFailed) as failed:
            sandbox.encode(hog, {})
        assert str(failed.value) == (
            "The codec used more than 16 MB of memory running encodeDownlink and was stopped."
        )
        assert sandbox.encode(INTERVAL_CODEC, {"interval_minutes": 15}).f_port == 2
    finally:
        sandbox.close()


def test_a_runner_that_does_not_answer_in_time_is_killed_and_replaced() -> None:
    # V8's own limit is set past the wall clock, so only the wall clock can stop this one.
    sandbox = CodecSandbox(Limits(call_ms=60_000, wall_seconds=3), workers=1)
    try:
        sandbox.encode(INTERVAL_CODEC, {"interval_minutes": 15})  # the runner is started
        with pytest.raises(CodecFailed) as failed:
            sandbox.encode("function encodeDownlink(input) { while (true) {} }", {})
        assert str(failed.value) == "The codec did not answer within 3 s and was stopped."
        assert sandbox.encode(INTERVAL_CODEC, {"interval_minutes": 15}).payload == b"\x01\x00\x0f"
    finally:
        sandbox.close()


def test_a_runner_killed_from_outside_is_replaced_on_the_next_call() -> None:
    sandbox = CodecSandbox(workers=1)
    try:
        sandbox.encode(INTERVAL_CODEC, {"interval_minutes": 15})
        (runner,) = sandbox._idle
        os.kill(runner.pid, signal.SIGKILL)
        runner.process.wait(timeout=5)
        assert sandbox.encode(INTERVAL_CODEC, {"interval_minutes": 60}).payload == b"\x01\x00\x3c"
    finally:
        sandbox.close()


def test_calls_from_many_threads_each_get_their_own_answer(sandbox: CodecSandbox) -> None:
    results: dict[int, bytes] = {}

    def encode(minutes: int) -> None:
        results[minutes] = sandbox.encode(INTERVAL_CODEC, {"interval_minutes": minutes}).payload

    threads = [threading.Thread(target=encode, args=(minutes,)) for minutes in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == {m: bytes([0x01, 0x00, m]) for m in range(1, 9)}


def test_a_worker_starts_with_v8_and_the_standard_library_alone() -> None:
    # Each runner (a spawned process) imports the worker module: importing the project there,
    # things_api alone took 0.2 s, would slow every start and every replacement.
    tree = ast.parse(Path(worker.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    tops = {name.partition(".")[0] for name in imported}
    assert tops - sys.stdlib_module_names - {"__future__"} == {"py_mini_racer"}


def runners(sandbox: CodecSandbox) -> list[int]:
    """The pids of the sandbox's live idle codec runners."""
    return [runner.pid for runner in sandbox._idle if runner.alive]


def test_a_runner_whose_codec_failed_serves_the_next_call() -> None:
    # Only a runner that did not answer, died or ran out of memory is replaced: a codec that
    # throws, does not parse, loops or returns what cannot be sent leaves its runner working
    # (starting one is a new process and V8: hundreds of milliseconds).
    own = CodecSandbox(Limits(call_ms=50, wall_seconds=20), workers=1)
    failing = (
        "function encodeDownlink(input) { throw new Error('no'); }",
        "function encodeDownlink(input) {",
        "function encodeDownlink(input) { while (true) {} }",
        returning("{bytes: [300]}"),
    )
    try:
        own.encode(INTERVAL_CODEC, {"interval_minutes": 15})
        first = set(runners(own))
        for source in failing:
            with pytest.raises(CodecFailed):
                own.encode(source, {})
            assert own.encode(INTERVAL_CODEC, {"interval_minutes": 15}).f_port == 2
            assert set(runners(own)) == first
    finally:
        own.close()
    assert runners(own) == []
    for pid in first:  # killed, not left behind
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_codecs_run_from_a_script_read_from_stdin() -> None:
    # Runners start from their own module, never by re-running the parent's main module (which
    # multiprocessing's spawn does, and which a script read from stdin does not have).
    script = (
        "import os\n"
        "from payload_codecs.sandbox import CodecSandbox\n"
        "from tests.payload_codecs.codecs import INTERVAL_CODEC\n"
        "sandbox = CodecSandbox()\n"
        "print(sandbox.encode(INTERVAL_CODEC, {'interval_minutes': 15}).payload.hex())\n"
        "sandbox.close()\n"
    )
    done = subprocess.run(
        [sys.executable, "-"],
        input=script,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "01000f", "")
