"""Static files as production serves them (whitenoise: hashed names, compressed copies), with
each file's URL worked out once per process: a page asks for about ten, the same ten every time,
and the manifest they come from is read at start and never changes while the process runs."""

from typing import Any

from whitenoise.storage import CompressedManifestStaticFilesStorage


class PortalStaticFilesStorage(CompressedManifestStaticFilesStorage):  # type: ignore[misc]  # untyped
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._urls: dict[str, str] = {}

    def url(self, name: str | None, force: bool = False) -> str:
        if name is None or force:
            return str(super().url(name, force))
        known = self._urls.get(name)
        if known is None:
            known = self._urls[name] = str(super().url(name))
        return known
