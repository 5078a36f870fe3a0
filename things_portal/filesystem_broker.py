"""Kombu's filesystem transport (the broker `make run` uses, no server needed), with each
message written whole before it can be seen.

Kombu's own `_put` creates the message file empty, then fills it; a worker that lists the
folder in between moves and reads the empty file, and dies of a JSONDecodeError (the message
is lost with it). Seen here with the poller benchmark's fast polling. Here the message is
written under a name the consumer ignores and renamed into place, which is atomic.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    # kombu's stubs give the base classes two different signatures; this is the real one.
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        filename = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, filename)
        # The consumer takes only names ending in ".<queue>.msg": this one it skips.
        writing = f"{final}.writing"
        try:
            with open(writing, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(writing, final)
        except OSError as error:
            raise ChannelError(f"Cannot add file {filename!r} to directory") from error


class Transport(filesystem.Transport):
    Channel = Channel
