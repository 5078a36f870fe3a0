from collections.abc import Iterator

import pytest

from payload_codecs.sandbox import CodecSandbox, Limits


@pytest.fixture(scope="module")
def sandbox() -> Iterator[CodecSandbox]:
    """One sandbox for a module's tests (its runners start once); generous limits, so a slow
    machine does not fail a test that is not about the limits."""
    shared = CodecSandbox(Limits(call_ms=200, memory_bytes=32 * 1024 * 1024, wall_seconds=20))
    yield shared
    shared.close()
