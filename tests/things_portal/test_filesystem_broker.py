"""The embedded broker (`make run`): a message is never seen half written. Kombu's own
filesystem transport creates the file empty and fills it afterwards; a worker listing the
folder in between read an empty message and died (seen with the poller benchmark)."""

import json
import threading
from pathlib import Path
from typing import Any

from kombu import Connection
from kombu.transport import filesystem

from tests.fresh_process import run_python
from tests.things_portal.test_settings import environment
from things_portal import filesystem_broker


def dotted(transport: type) -> str:
    return f"{transport.__module__}:{transport.__qualname__}"


TRANSPORTS = {
    "ours": dotted(filesystem_broker.Transport),
    "kombu's": dotted(filesystem.Transport),
}
MESSAGES = 400
# The portal's own setup of its broker without Redis (its folders made), read as JSON.
READ_BROKER = (
    "import json; from things_portal.celery import app, ensure_filesystem_broker_folders; "
    "ensure_filesystem_broker_folders(); "
    "print(json.dumps([app.conf.broker_transport, app.conf.broker_transport_options]))"
)


def broker_without_redis(var_dir: Path) -> tuple[str, dict[str, Any]]:
    """The transport and options the portal configures when REDIS_URL is empty, read in a fresh
    process with `var_dir` as its var folder and polling as fast as the race below needs."""
    env = environment(var_dir, REDIS_URL="", CELERY_FILESYSTEM_POLLING_INTERVAL="0.0005")
    result = run_python(env, "-c", READ_BROKER, timeout=60)
    assert result.returncode == 0, result.stderr
    transport, options = json.loads(result.stdout)
    return transport, options


def race(transport: str, options: dict[str, Any]) -> tuple[list[int], list[BaseException]]:
    """A producer thread putting while this thread takes as fast as it can."""
    received: list[int] = []
    errors: list[BaseException] = []
    with Connection(transport=transport, transport_options=options) as consumer_connection:
        queue = consumer_connection.SimpleQueue("work")

        def produce() -> None:
            with Connection(transport=transport, transport_options=options) as producer_connection:
                outgoing = producer_connection.SimpleQueue("work")
                for number in range(MESSAGES):
                    outgoing.put({"number": number, "padding": "x" * 4000})

        producer = threading.Thread(target=produce)
        producer.start()
        while len(received) < MESSAGES and not errors:
            try:
                message = queue.get(block=True, timeout=3)
            except queue.Empty:
                break
            except Exception as error:  # an empty or partial file
                errors.append(error)
                break
            received.append(message.payload["number"])
            message.ack()
        producer.join(timeout=60)
    return received, errors


def test_every_message_arrives_whole(tmp_path: Path) -> None:
    transport, options = broker_without_redis(tmp_path)
    assert transport == TRANSPORTS["ours"]
    received, errors = race(transport, options)
    assert errors == []
    assert sorted(received) == list(range(MESSAGES))


def test_kombus_own_transport_fails_the_same_race(tmp_path: Path) -> None:
    """The counter-check: the race above is real (if kombu fixes it, ours can go)."""
    _, options = broker_without_redis(tmp_path)
    received, errors = race(TRANSPORTS["kombu's"], options)
    assert errors or len(received) < MESSAGES


def test_the_portal_uses_it_when_there_is_no_redis() -> None:
    from django.conf import settings

    from things_portal.celery import app

    with app.connection_for_write() as broker:
        used = dotted(type(broker.transport))
    if settings.REDIS_URL:  # CI and production: Redis, not a folder
        assert used == "kombu.transport.redis:Transport"
    else:
        assert used == TRANSPORTS["ours"]
