"""Collecting everything the portal says and keeps, to look for secrets in it.

- `DebugLogCollector`: every log record of every logger at DEBUG, formatted with its
  traceback and extra attributes.
- `text_of(response)`: a response's body, headers and cookies.
- `database_text()`: every row of every model's table, and every session decoded.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.apps import apps
from django.contrib.sessions.models import Session
from django.db import connection
from django.http.response import HttpResponseBase

_STANDARD_RECORD_FIELDS = frozenset(
    vars(logging.LogRecord("name", logging.DEBUG, "path", 1, "msg", (), None))
) | {"message", "asctime"}


class DebugLogCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []
        self.names: set[str] = set()
        self.levels: set[int] = set()

    def emit(self, record: logging.LogRecord) -> None:
        # format() adds the traceback (exc_info) and stack; extras are what a structured
        # formatter would print as well.
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD_RECORD_FIELDS}
        self.lines.append(f"{self.format(record)} {extras!r}")
        self.names.add(record.name)
        self.levels.add(record.levelno)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@contextmanager
def debug_logging() -> Iterator[DebugLogCollector]:
    """Every logger (the root, every existing one, and any made meanwhile) at DEBUG into one
    collector, and SQL logged too (as with DEBUG=True); all restored afterwards."""
    collector = DebugLogCollector()
    root = logging.getLogger()
    loggers = [root] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    saved = [(logger, logger.level, logger.disabled) for logger in loggers]
    with_collector = [root] + [logger for logger in loggers[1:] if not logger.propagate]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
    for logger in with_collector:
        logger.addHandler(collector)
    debug_cursor = connection.force_debug_cursor
    connection.force_debug_cursor = True
    try:
        yield collector
    finally:
        connection.force_debug_cursor = debug_cursor
        for logger in with_collector:
            logger.removeHandler(collector)
        for logger, level, disabled in saved:
            logger.setLevel(level)
            logger.disabled = disabled


def body_of(response: Any) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return str(response.content.decode())


def text_of(response: HttpResponseBase) -> str:
    parts = [body_of(response)]
    parts += [f"{name}: {value}" for name, value in response.items()]
    parts += [morsel.OutputString() for morsel in response.cookies.values()]
    return "\n".join(parts)


def database_text() -> str:
    """Every value of every row of every model (through .values(), so what is stored), and
    the decoded data of every session (stored encoded, so a plain scan would miss it)."""
    rows: list[str] = []
    for model in apps.get_models(include_auto_created=True):
        rows.extend(repr(row) for row in model._default_manager.values())
    rows.extend(repr(session.get_decoded()) for session in Session.objects.all())
    return "\n".join(rows)
