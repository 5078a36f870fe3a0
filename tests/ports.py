"""A TCP port on the loopback interface that nothing listens on."""

import socket


def free_port() -> int:
    """A port the system just handed out and took back: free, and nothing listens on it, until
    a server of the test's own binds it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
