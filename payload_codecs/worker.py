"""The codec worker: the process `payload_codecs.sandbox` starts (`python -m
payload_codecs.worker FD CALL_MS MEMORY_BYTES`), kills and replaces. It runs codecs in
mini-racer (embedded V8) and answers over the socket FD. It imports nothing of the project, so
a worker starts with V8 and this module alone.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections import OrderedDict
from multiprocessing.connection import Connection
from typing import Any, Final

# How much of a codec's own message (an exception, an error it returns) is quoted.
QUOTED_CHARS: Final = 300
# Compiled codecs kept per worker (by the hash of their source).
CODECS_PER_WORKER: Final = 16

# Run first in every context: many published codecs log, and some call these helpers.
_PRELUDE: Final = """
globalThis.console = {log() {}, info() {}, warn() {}, error() {}, debug() {}};
globalThis.__portalCall = function (name, input) {
  if (typeof globalThis[name] !== "function") return JSON.stringify({"__missing": name});
  const result = globalThis[name](input);
  return result === undefined ? "null" : JSON.stringify(result);
};
globalThis.__portalFunctions = function () {
  const names = ["encodeDownlink", "decodeDownlink"];
  return {functions: names.filter((name) => typeof globalThis[name] === "function")};
};
"""


def _quoted(message: str) -> str:
    """A V8 message's first line without V8's "<anonymous>:1:" prefix, shortened."""
    line = next((part for part in message.splitlines() if part.strip()), "").strip()
    if line.startswith("<anonymous>:"):
        line = line.split(": ", 1)[-1]
    return line[:QUOTED_CHARS]


def serve(connection: Connection, call_ms: int, memory_bytes: int) -> None:
    """The worker: answer (function, source, input) with ("ok", JSON text) or (kind, words),
    each load and call within `call_ms` and `memory_bytes`."""
    from py_mini_racer import (
        JSEvalException,
        JSOOMException,
        JSParseException,
        JSTimeoutException,
        MiniRacer,
    )

    contexts: OrderedDict[str, Any] = OrderedDict()
    timeout, max_memory = call_ms, memory_bytes
    while True:
        try:
            function, source, argument = connection.recv()
        except EOFError:
            os._exit(0)  # the parent is gone; V8 may hang a normal exit
        key = hashlib.sha256(source.encode()).hexdigest()
        stage = "load"
        try:
            context = contexts.get(key)
            if context is None:
                context = MiniRacer()
                context.eval(_PRELUDE)
                context.eval(source, timeout=timeout, max_memory=max_memory)
                contexts[key] = context
                if len(contexts) > CODECS_PER_WORKER:
                    contexts.popitem(last=False)
            contexts.move_to_end(key)
            stage = "call"
            answer = (
                "ok",
                context.call(
                    "__portalCall", function, argument, timeout=timeout, max_memory=max_memory
                ),
            )
        except JSTimeoutException:
            contexts.pop(key, None)  # stopped halfway: its state is not trusted again
            answer = ("timeout", stage)
        except JSOOMException:
            connection.send(("memory", stage))
            os._exit(0)  # retired: the parent kills what is left of it
        except JSParseException as error:
            answer = ("syntax", _quoted(str(error)))
        except JSEvalException as error:
            answer = ("threw", _quoted(str(error)))
        connection.send(answer)


if __name__ == "__main__":
    fd, call_ms, memory_bytes = (int(argument) for argument in sys.argv[1:4])
    serve(Connection(fd), call_ms, memory_bytes)
