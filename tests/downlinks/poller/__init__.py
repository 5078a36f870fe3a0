from collections.abc import Iterable

from downlinks.models import Downlink
from tests.polling import wait_until


def wait_until_done(records: Iterable[Downlink], *, timeout: float = 60.0) -> None:
    ids = [record.pk for record in records]
    wait_until(
        lambda: Downlink.objects.filter(pk__in=ids, status="DONE").count() == len(ids),
        timeout=timeout,
    )
