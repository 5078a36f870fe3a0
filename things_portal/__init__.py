"""Things Portal: a Django + htmx dashboard for downlinks on the KPN Things platform."""

from things_portal.celery import app as celery_app

__all__ = ["celery_app"]
