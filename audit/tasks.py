"""Celery tasks: thin, they call the audit trail's services."""

from celery import shared_task

from audit.anchors import anchor_export


@shared_task(ignore_result=True)
def export_anchor() -> str:
    """Beat runs it (hourly): the chain head, kept outside the database."""
    return anchor_export().line()
