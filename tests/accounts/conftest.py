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
