from uuid import uuid4

import pytest
from django.conf import LazySettings
from django.contrib.auth.models import User

PASSWORD = "correct horse battery staple 42"


@pytest.fixture(autouse=True)
def _fast_hashing(settings: LazySettings) -> None:
    """The production hasher takes most of a second per password; these tests hash many."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def lena(db: None) -> User:
    return User.objects.create_user("lena", password=PASSWORD)


@pytest.fixture
def own_reset_limit_cache(settings: LazySettings) -> None:
    """The test counts password reset requests in a cache of its own, so no test inherits
    another's."""
    settings.CACHES = {
        **settings.CACHES,
        "password-reset-tests": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": uuid4().hex,
        },
    }
    settings.PASSWORD_RESET_LIMIT_CACHE = "password-reset-tests"
