from collections.abc import Iterator

import pytest

from teams.connections import forget_clients


@pytest.fixture(autouse=True)
def _fresh_api_clients() -> Iterator[None]:
    """API clients are cached per credential id and version, and ids repeat after a test's
    rollback: each test starts and ends without cached clients."""
    forget_clients()
    yield
    forget_clients()
