"""Device types' codecs in this process: one sandbox (its worker processes start on first use,
with the limits from settings), and the checks an uploaded codec must pass."""

from __future__ import annotations

import functools

from django.conf import settings

from payload_codecs.examples import ExamplesUnreadable, failing_examples, read_examples
from payload_codecs.sandbox import DECODE, ENCODE, CodecFailed, CodecSandbox, Limits


def sandbox() -> CodecSandbox:
    """The sandbox for the limits the settings name now (one per set of limits: a test that
    changes them gets a sandbox of its own)."""
    return _sandbox(
        Limits(
            call_ms=settings.CODEC_CALL_MS,
            memory_bytes=settings.CODEC_MEMORY_MB * 1024 * 1024,
            wall_seconds=settings.CODEC_WALL_SECONDS,
        ),
        settings.CODEC_WORKERS,
    )


@functools.cache
def _sandbox(limits: Limits, workers: int) -> CodecSandbox:
    return CodecSandbox(limits, workers=workers)


def codec_functions(source: str) -> frozenset[str]:
    """The codec's functions; CodecFailed (in words) when it does not load or has no
    encodeDownlink."""
    defined = sandbox().functions(source)
    if ENCODE not in defined:
        raise CodecFailed(
            "The codec has no encodeDownlink(input) function; the portal needs it to make a "
            "downlink's bytes."
        )
    return defined


def codec_problems(source: str, examples: str) -> tuple[list[str], int, bool]:
    """Why the codec may not be accepted, in words (empty: it may), how many examples ran,
    and whether it has decodeDownlink."""
    try:
        defined = codec_functions(source)
    except CodecFailed as failed:
        return [str(failed)], 0, False
    if not examples.strip():
        return [], 0, DECODE in defined
    try:
        count = sum(len(section) for section in read_examples(examples).values())
        problems = failing_examples(sandbox(), source, examples)
    except ExamplesUnreadable as unreadable:
        return [str(unreadable)], 0, DECODE in defined
    return problems, count, DECODE in defined
